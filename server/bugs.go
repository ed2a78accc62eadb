package server

// bugID names a bug from the catalog (see bugs_on.go, build tag mobbugs).
// The identifiers exist in every build so the core can name the places a bug
// would live; only mobbugs builds can switch one on.
type bugID uint8

const (
	bugMissingToken bugID = iota
	bugTokenReuse
	bugNoDrainRead
	bugNoDrainAccept
	bugDropOnWouldBlock
	bugPartialWriteTail
	bugHupBeforeRead
	bugSpuriousWritableCloses
	bugSplitFrame
	bugLIFOQueue
	bugUnboundedQueue
	bugEMFILEStrandsBacklog
	bugFanoutErrorDropsSender
	bugNoWritableInterest
	bugCount
)
