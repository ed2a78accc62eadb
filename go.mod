module github.com/mobsim/mobsim

go 1.26.0

require golang.org/x/sys v0.50.0

require pgregory.net/rapid v1.3.0

// Test-only: no package of this module imports these outside a _test.go
// file, so a module that depends on mobsim builds none of them (module
// graph pruning keeps them out of its build list). cmd/mob's tests parse
// /metrics with Prometheus's own text parser (expfmt), so an exposition
// Prometheus would refuse fails here, which a hand-written check would not
// promise; cmd/mobsim's tests decode the shipped workflow and Kubernetes
// Job with a strict YAML decoder (unknown fields refused) to check the
// sweep they define against mobsim's flag parser.
require (
	github.com/prometheus/client_model v0.6.3
	github.com/prometheus/common v0.74.0
	go.yaml.in/yaml/v3 v3.0.6
)

require (
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/pandatix/go-abnf v0.5.5 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
