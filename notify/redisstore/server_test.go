package redisstore_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// redisServer is a redis-server of the test's own: loopback, a free port, a
// temporary directory, the append-only file fsynced on every write and no
// snapshots, so that a kill loses nothing it acknowledged.
type redisServer struct {
	bin  string
	dir  string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	log    *tail
}

// startRedis starts a server, stopped at the end of the test. Without a
// redis-server it skips, unless CI is set: there it fails.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "redis-server is not installed (apt-get install redis-server)")
	}
	s := &redisServer{bin: bin, dir: t.TempDir()}
	// A free port can be taken between finding and binding it: try a few.
	for range 5 {
		if s.port, err = freePort(); err == nil {
			if err = s.start(); err == nil {
				break
			}
		}
	}
	if err != nil {
		unavailable(t, "redis-server did not start: "+err.Error())
	}
	t.Cleanup(s.Kill)
	return s
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; CI is set, so this is a failure", why)
	}
	t.Skipf("%s; skipping (set CI=1 to make this a failure)", why)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr is host:port.
func (s *redisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs redis-server and returns once it says it accepts connections
// (after loading the append-only file, on a restart).
func (s *redisServer) start() error {
	cmd := exec.Command(s.bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), "--dir", s.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--maxmemory-policy", "noeviction", "--daemonize", "no", "--logfile", "")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	log := &tail{}
	ready, exited := make(chan struct{}), make(chan struct{})
	go func() {
		// Read to the end (so the pipe never fills), then reap.
		sc := bufio.NewScanner(stdout)
		said := false
		for sc.Scan() {
			log.add(sc.Text())
			if !said && strings.Contains(sc.Text(), "Ready to accept connections") {
				said = true
				close(ready)
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	select {
	case <-ready:
	case <-exited:
		return fmt.Errorf("redis-server exited: %s", log)
	case <-timeout.C:
		_ = cmd.Process.Kill()
		<-exited
		return errors.New("redis-server not ready after 20 s: " + log.String())
	}
	s.mu.Lock()
	s.cmd, s.exited, s.log = cmd, exited, log
	s.mu.Unlock()
	return nil
}

// Kill stops the server with SIGKILL, as a crash would, and waits for it to
// exit. It does nothing if the server is not running.
func (s *redisServer) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Restart starts the server again on the same port and directory: it loads
// what it had acknowledged from the append-only file.
func (s *redisServer) Restart() error {
	var err error
	for range 3 {
		if err = s.start(); err == nil {
			return nil
		}
	}
	return fmt.Errorf("restart: %w", err)
}

// tail keeps the last lines of the server's log, for errors.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (b *tail) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) == 20 {
		b.lines = b.lines[1:]
	}
	b.lines = append(b.lines, line)
}

func (b *tail) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}
