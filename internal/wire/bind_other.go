//go:build !linux

package wire

// bindAddressNoPort does nothing where IP_BIND_ADDRESS_NO_PORT does not
// exist: the port is picked at bind time.
func bindAddressNoPort(int) error { return nil }
