package server

// Check reports what New would refuse in c (after filling in the
// defaults), without building a server: a command line can validate its
// flags before it opens any socket. Each problem names the Config field.
func (c Config) Check() error {
	_, err := c.withDefaults()
	return err
}
