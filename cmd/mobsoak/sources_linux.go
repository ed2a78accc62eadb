package main

// sourcesDefault is how many 127.0.0.x source addresses the clients use:
// Linux routes all of 127.0.0.0/8 to the loopback interface.
const sourcesDefault = 8
