package bugs

import (
	"fmt"
	"slices"
	"strings"
)

// A Bug is one entry of the catalog.
type Bug struct {
	Name string // what -bug and Enable call it
	Seen string // where it was seen
	What string // what goes wrong, in one sentence

	// Hunks change the tree's files, in order. The code a hunk adds runs
	// only while the bug's knob is on: s.bugs.<Knob()>.
	Hunks []Hunk
	// Files are helpers the bug adds to the tree (paths it must not have).
	Files []File
}

// A Hunk replaces the one occurrence of Find in File with Replace.
type Hunk struct {
	File    string // slash-separated, from the module root: "server/write.go"
	Find    string
	Replace string
}

// A File is a whole file a bug adds to the tree.
type File struct {
	Path string // slash-separated, from the module root
	Text string
}

// Knob is the name of the bug's switch in the catalog build's server: its
// name in lower camel case ("lifo-queue" is s.bugs.lifoQueue).
func (b Bug) Knob() string {
	parts := strings.Split(b.Name, "-")
	for i := 1; i < len(parts); i++ {
		if p := parts[i]; p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

// catalog is the order of the catalog: of its tables, and of the hunks.
var catalog = []Bug{
	missingToken,
	tokenReuse,
	noDrainRead,
	noDrainAccept,
	dropOnWouldBlock,
	partialWriteTail,
	hupBeforeRead,
	spuriousWritableCloses,
	splitFrame,
	lifoQueue,
	unboundedQueue,
	emfileStrandsBacklog,
	fanoutErrorDropsSender,
	noWritableInterest,
}

// Catalog lists every bug in catalog order.
func Catalog() []Bug { return slices.Clone(catalog) }

// Names lists the bugs' names in catalog order.
func Names() []string {
	names := make([]string, len(catalog))
	for i, b := range catalog {
		names[i] = b.Name
	}
	return names
}

// Lookup returns the bug called name.
func Lookup(name string) (Bug, bool) {
	i := slices.IndexFunc(catalog, func(b Bug) bool { return b.Name == name })
	if i < 0 {
		return Bug{}, false
	}
	return catalog[i], true
}

// checkNames reports the first name that is not in the catalog.
func checkNames(names []string) error {
	for _, n := range names {
		if _, ok := Lookup(n); !ok {
			return fmt.Errorf("unknown bug %q (the catalog: %s)", n, strings.Join(Names(), ", "))
		}
	}
	return nil
}
