// Package benchproc runs crieur the way the bench/ commands measure it:
// as its own process, built from this module with go build, started with
// `crieur serve` on a data directory the bench prepared, and read from
// outside (its memory and CPU from /proc). It keeps that plumbing in one
// place so each bench says only what it measures.
package benchproc

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Bot is the username of the benches' bot.
const Bot = "zoomacom-tips"

// DBFile is app.DBFile: the benches drive crieur from outside and do not
// link the app.
const DBFile = "crieur.db"

// BotYAML is the benches' bot.yaml: automatic approval (a follow is
// accepted at once) and a weekly tip slot that never comes during a run,
// so only the posts a bench drops are published.
const BotYAML = `username: zoomacom-tips
name: "Banc d'essai"
summary: "Compte de banc d'essai de crieur."
language: fr
timezone: UTC
schedule:
  tips: ["mon 03:00"]
followers:
  approval: auto
`

// Child is a helper process a bench started (usually itself re-executed
// as a farm of fake servers): it reads its stdin until the bench closes
// it, and reports on its stdout.
type Child struct {
	// Cmd is the running child.
	Cmd *exec.Cmd
	// In is the child's stdin; closing it tells the child to end.
	In io.WriteCloser
	// Lines reads the child's stdout line by line (lines up to 1 MiB).
	Lines *bufio.Scanner
}

// StartChild starts cmd with its stdin and stdout piped to the bench and
// its stderr on the bench's. Close must be called on the result.
func StartChild(cmd *exec.Cmd) (*Child, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("child stdin: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("child stdout: %w", err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(cmd.Path), err)
	}
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	return &Child{Cmd: cmd, In: in, Lines: lines}, nil
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.Cmd.Process.Pid }

// Close closes the child's stdin, which ends it, and waits for it.
func (c *Child) Close() {
	c.In.Close()
	_ = c.Cmd.Wait()
}

// Build builds cmd/crieur of the module the go command runs in into dir
// and returns the binary's path.
func Build(dir string) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "crieur")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/crieur")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build crieur: %w", err)
	}
	return bin, nil
}

// PinSelf moves every thread of this process onto cpus (taskset's list
// syntax, e.g. "0" or "1-3"); threads started later inherit it.
func PinSelf(cpus string) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset -c %s: %w: %s", cpus, err, out)
	}
	return nil
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Daemon is a running `crieur serve` child process.
type Daemon struct {
	// Cmd is the child; its Process.Pid is what /proc readings use.
	Cmd *exec.Cmd
	// Log is the file the child's stdout and stderr go to.
	Log string
	// Started is when the process was started; Up, how long it took to
	// answer its actor document with 200.
	Started time.Time
	Up      time.Duration
}

// Serve starts `bin serve` with args (the flags after "serve"), its
// output in logFile, and waits until actor answers 200 (within 30 s).
// Stop must be called on the result, whatever happens next.
func Serve(bin, logFile, actor string, args ...string) (*Daemon, error) {
	return ServeEnv(nil, bin, logFile, actor, args...)
}

// ServeEnv is Serve with env ("KEY=value") added to the environment the
// child inherits, e.g. to ask it for a CPU profile.
func ServeEnv(env []string, bin, logFile, actor string, args ...string) (*Daemon, error) {
	return ServeVia(nil, env, bin, logFile, actor, args...)
}

// ServeVia is ServeEnv run through a launcher command that execs its
// arguments, e.g. {"taskset", "-c", "0"} to run crieur on CPU 0 alone;
// the child's pid is then crieur's.
func ServeVia(launcher, env []string, bin, logFile, actor string, args ...string) (*Daemon, error) {
	log, err := os.Create(logFile)
	if err != nil {
		return nil, fmt.Errorf("daemon log: %w", err)
	}
	defer log.Close() // the child holds its own descriptor
	argv := append(append(append([]string{}, launcher...), bin, "serve"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	d := &Daemon{Cmd: cmd, Log: logFile, Started: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start crieur: %w", err)
	}
	if err := WaitUp(actor, 30*time.Second); err != nil {
		d.Stop()
		return nil, fmt.Errorf("crieur did not come up (log in %s): %w", logFile, err)
	}
	d.Up = time.Since(d.Started)
	return d, nil
}

// Pid is the child's process id.
func (d *Daemon) Pid() int { return d.Cmd.Process.Pid }

// Stop asks the child to stop (SIGTERM), then kills it after 3 s:
// attempts to silent servers may hold a graceful stop for their whole
// deadline, and a bench must not wait for that.
func (d *Daemon) Stop() { StopProcess(d.Cmd) }

// StopProcess stops any child the way Daemon.Stop does.
func StopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// WaitUp polls an actor document until it answers 200 or within passes.
func WaitUp(actor string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		req, err := http.NewRequest(http.MethodGet, actor, nil)
		if err != nil {
			return fmt.Errorf("wait for %s: %w", actor, err)
		}
		req.Header.Set("Accept", "application/activity+json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no 200 from %s within %s (last: %v)", actor, within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Memory is one reading of a process's /proc/PID/status, in KiB; -1
// when it could not be read.
type Memory struct {
	// RSS is the resident set now (VmRSS), Peak its high-water mark
	// (VmHWM).
	RSS, Peak int64
}

// ReadMemory reads pid's resident set and its peak.
func ReadMemory(pid int) Memory {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Memory{-1, -1}
	}
	m := Memory{-1, -1}
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			m.RSS = n
		case "VmHWM":
			m.Peak = n
		}
	}
	return m
}

// MiB formats a KiB reading as whole MiB, "?" when unknown.
func MiB(kib int64) string {
	if kib < 0 {
		return "?"
	}
	return fmt.Sprintf("%d MiB", kib/1024)
}

// CPUTime is the processor time (user + system) pid has used so far,
// from /proc/PID/stat; subtract two readings to get what a span of work
// cost one process.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("cpu time of %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu time of %d: malformed stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// After ')': state is field 3, so utime (14) and stime (15) are
	// at indexes 11 and 12.
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time of %d: short stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu time of %d: malformed stat", pid)
	}
	// Linux reports clock ticks of 1/100 s (USER_HZ) to user space.
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}
