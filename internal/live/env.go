package live

import "os"

// IOUringEnv names the environment variable the live tests read:
// MOBSIM_IO_URING=off runs every server they start with io_uring turned
// off (netpoll.Config.NoIOUring, mob -io-uring=false), so the batched
// fan-out takes the writev loop. `make test` runs the live packages once
// more with it. The commands themselves read no environment: they take
// flags.
const IOUringEnv = "MOBSIM_IO_URING"

// IOUringOffByEnv reports whether IOUringEnv asks for io_uring off. It is
// for tests.
func IOUringOffByEnv() bool { return os.Getenv(IOUringEnv) == "off" }
