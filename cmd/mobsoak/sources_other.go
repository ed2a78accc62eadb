//go:build !linux

package main

// sourcesDefault is 1 outside Linux: macOS and the BSDs configure only
// 127.0.0.1 on the loopback interface by default.
const sourcesDefault = 1
