package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names a file `crieur serve` writes a CPU profile to, from
// start until it is told to stop (SIGTERM or Ctrl-C), for `go tool
// pprof`. Off unless set; not a flag, because it is for whoever measures
// the daemon (bench/daemon -cpuprofile sets it), not for staff.
const cpuProfileEnv = "CRIEUR_CPUPROFILE"

// startCPUProfile starts the CPU profile getenv(cpuProfileEnv) asks for
// and returns the function that stops it, if still running, and waits
// until it is written. The profile stops as soon as ctx is done, not only
// when serve returns: a graceful stop
// waits for attempts in flight (up to the request deadline), and a bench
// stopping crieur kills it after a few seconds.
func startCPUProfile(ctx context.Context, getenv func(string) string, stderr io.Writer) (wait func()) {
	path := getenv(cpuProfileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stderr, "crieur serve: %s: %v\n", cpuProfileEnv, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(stderr, "crieur serve: %s: %v\n", cpuProfileEnv, err)
		f.Close()
		return func() {}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
		case <-stop:
		}
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "crieur serve: %s: %v\n", cpuProfileEnv, err)
		}
	}()
	return func() { close(stop); <-done }
}
