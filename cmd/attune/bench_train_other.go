//go:build !unix

package main

// cpuSeconds reports that the process's CPU time is not known here.
func cpuSeconds() float64 { return -1 }
