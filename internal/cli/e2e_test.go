package cli_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/cli"
	"github.com/wxpaykit/wxpay/internal/longtest"
	"github.com/wxpaykit/wxpay/memberimport"
)

// buildCLI compiles cmd/wxpay without the race detector, so that the RSA work of
// the processes below runs at full speed even under `go test -race`. The go
// command puts its own bin directory first on the PATH of the tests it runs.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wxpay")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/wxpaykit/wxpay/cmd/wxpay")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// countLines counts the newlines of a file (0 when it does not exist yet).
func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte{'\n'})
}

// lineCounter counts the complete lines of a file that is only appended to,
// or truncated back to a line end (a torn journal tail is dropped), reading
// each complete line once.
type lineCounter struct {
	path  string
	off   int64 // just after the last newline counted
	lines int
	buf   [64 << 10]byte
}

func (c *lineCounter) count() int {
	f, err := os.Open(c.path)
	if err != nil {
		return c.lines
	}
	defer f.Close()
	for {
		n, _ := f.ReadAt(c.buf[:], c.off)
		last := bytes.LastIndexByte(c.buf[:n], '\n')
		if last < 0 {
			return c.lines
		}
		c.lines += bytes.Count(c.buf[:last+1], []byte{'\n'})
		c.off += int64(last + 1)
		if n < len(c.buf) {
			return c.lines
		}
	}
}

// envInt reads a positive integer from the environment, or returns def.
func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// TestImportSurvivesSIGKILL is the short version of the SIGKILL soak, for the
// default test run: 3000 rows, two kills.
func TestImportSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	importSurvivesSIGKILL(t, 3000, 2)
}

// TestImportSurvivesSIGKILLSoak is the soak: 100 000 rows, five kills. It takes
// minutes, so it runs with WXPAY_LONG=1 (as .ci/run does). WXPAY_E2E_ROWS
// scales it down for quick local runs.
func TestImportSurvivesSIGKILLSoak(t *testing.T) {
	longtest.Require(t)
	t.Parallel()
	importSurvivesSIGKILL(t, envInt(t, "WXPAY_E2E_ROWS", 100_000), 5)
}

// importSurvivesSIGKILL imports rows rows, 0.3 % of them unknown openids, from
// a CSV file as Excel writes it (byte order mark, header, CRLF) with the wxpay
// binary into the emulator binary, killing the importer with SIGKILL at random
// points of its journal and running it again each time. At the end the
// emulator holds exactly one membership per valid row, made with the row's own
// out_request_no, the rejects file holds exactly the unknown rows, each once,
// as PARAM_ERROR with their row numbers, and the last run exits 7 (finished
// with rejected rows).
//
// WXPAY_E2E_SEED replays the kill points and the unknown rows of a failed run.
func importSurvivesSIGKILL(t *testing.T, rows, killCount int) {
	bad := max(rows*3/1000, 1)
	seed := uint64(envInt(t, "WXPAY_E2E_SEED", int(time.Now().UnixNano()&(1<<62-1))))
	t.Logf("%d rows, %d unknown; WXPAY_E2E_SEED=%d replays this run", rows, bad, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	bin := buildCLI(t)

	// Inputs: the users the emulator knows, and the CSV with unknown openids mixed in.
	unknownRow := map[int]bool{}
	for len(unknownRow) < bad {
		unknownRow[1+rng.IntN(rows)] = true
	}
	var usersBuf, csvBuf bytes.Buffer
	csvBuf.WriteString("\uFEFFopenid,code\r\n")
	valid, unknown := map[string]bool{}, map[string]int{} // unknown openid → row number
	for n := 1; n <= rows; n++ {
		id := fmt.Sprintf("oE2EMember%07d", n)
		if unknownRow[n] {
			id = fmt.Sprintf("oE2EUnknown%07d", n)
			unknown[id] = n
		} else {
			valid[id] = true
			usersBuf.WriteString(id + "\n")
		}
		csvBuf.WriteString(id + "\r\n")
	}
	usersFile, input := filepath.Join(dir, "users.txt"), filepath.Join(dir, "members.csv")
	if err := os.WriteFile(usersFile, usersBuf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(input, csvBuf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	// The emulator, in its own process; its first lines say where it listens.
	emu := exec.Command(bin, "emulator", "--addr", "127.0.0.1:0", "--dir", filepath.Join(dir, "emu"), "--users", usersFile)
	emuOut, emuOutW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var emuErr bytes.Buffer
	emu.Stdout, emu.Stderr = emuOutW, &emuErr
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	emuOutW.Close()
	emuExited := make(chan error, 1)
	go func() { emuExited <- emu.Wait() }()
	emuWait := sync.OnceValue(func() error { return <-emuExited })
	t.Cleanup(func() {
		_ = emu.Process.Kill() // after the clean stop at the end, there is no process left
		_ = emuWait()
		emuOut.Close()
	})
	var base string
	sc := bufio.NewScanner(emuOut)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "wxpay emulator listening on "); ok {
			base = u
			break
		}
	}
	if base == "" {
		_ = emu.Process.Kill()
		t.Fatalf("the emulator did not start: %v\n%s", emuWait(), emuErr.String())
	}
	emuRest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(emuOut)
		emuRest <- string(b)
	}()

	cfg := filepath.Join(dir, "emu", "wxpay.json")
	journal := input + ".journal"
	type importRun struct {
		cmd            *exec.Cmd
		stdout, stderr bytes.Buffer
	}
	importer := func() *importRun {
		r := &importRun{cmd: exec.Command(bin, "membercard", "import", "--config", cfg, "--card-id", emulator.DemoCardID,
			"--file", input, "--concurrency", "16")}
		r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
		return r
	}

	// Kill points, as journal line counts, at least 1 % of the rows apart so
	// that every run gets somewhere, and short of the end (by 10 %, and by at
	// least 1000 rows for a small input) so that none finishes.
	var kills []int
	last := rows - max(rows/10, 1000)
	for {
		kills = kills[:0]
		for range killCount {
			kills = append(kills, rows/20+rng.IntN(max(last-rows/20, 1)))
		}
		slices.Sort(kills)
		spaced := true
		for i := 1; i < len(kills); i++ {
			spaced = spaced && kills[i]-kills[i-1] >= rows/100
		}
		if spaced {
			break
		}
	}
	start := time.Now()
	for i, at := range kills {
		run := importer()
		if err := run.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- run.cmd.Wait() }()
		// Poll the journal until it passes the kill point, reading only what
		// was appended (the test process must not compete with the importer
		// for the CPU); the stall timer only bounds a stuck importer, however
		// slow a shared machine makes a healthy one.
		lines := &lineCounter{path: journal}
		tick := time.NewTicker(10 * time.Millisecond)
		const stallLimit = 2 * time.Minute
		stall := time.NewTimer(stallLimit)
		seen := 0
	wait:
		for {
			select {
			case err := <-exited:
				t.Fatalf("run %d ended by itself before journal line %d: %v\nstdout: %s\nstderr: %s", i+1, at, err, &run.stdout, &run.stderr)
			case <-tick.C:
				n := lines.count()
				if n > at {
					_ = run.cmd.Process.Kill() // SIGKILL: no defer, no flush, no goodbye
					<-exited
					break wait
				}
				if n > seen {
					seen = n
					stall.Reset(stallLimit)
				}
			case <-stall.C:
				_ = run.cmd.Process.Kill()
				<-exited
				t.Fatalf("run %d: the journal did not grow for %s (line %d, kill point %d)\nstderr: %s", i+1, stallLimit, seen, at, &run.stderr)
			}
		}
		tick.Stop()
		stall.Stop()
		if ws, ok := run.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("run %d was not killed by SIGKILL: %v\nstdout: %s", i+1, run.cmd.ProcessState, &run.stdout)
		}
		t.Logf("run %d: SIGKILL at journal line %d (point %d), %s in", i+1, countLines(journal), at, time.Since(start).Round(time.Second))
	}

	// The last run finishes, with the unknown rows rejected: exit status 7.
	final := importer()
	if err := final.cmd.Run(); final.cmd.ProcessState == nil || final.cmd.ProcessState.ExitCode() != cli.ExitRowsRejected {
		t.Fatalf("final run: %v, want exit status %d\nstdout: %s\nstderr: %s", err, cli.ExitRowsRejected, &final.stdout, &final.stderr)
	}
	elapsed := time.Since(start)
	summary := final.stdout.String()
	if !strings.HasPrefix(summary, fmt.Sprintf("rows %d: imported ", rows)) || !strings.Contains(summary, fmt.Sprintf(", rejected %d, failed 0 (", bad)) {
		t.Errorf("summary: %s", summary)
	}
	t.Logf("final run: %s", strings.SplitN(summary, "\n", 2)[0])

	// Exactly one membership per valid row, none for the unknown ones, each made
	// with the row's derived out_request_no (so repeats were answered as repeats).
	resp, err := http.Get(base + "/_emulator/memberships?card_id=" + emulator.DemoCardID)
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Count       int `json:"count"`
		Memberships []struct {
			OpenID    string `json:"openid"`
			Code      string `json:"code"`
			RequestNo string `json:"request_no"`
		} `json:"memberships"`
	}
	err = json.NewDecoder(resp.Body).Decode(&state)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	// A broken importer gets thousands of rows wrong: show the first few.
	var wrong int
	errorf := func(format string, args ...any) {
		t.Helper()
		if wrong++; wrong <= 10 {
			t.Errorf(format, args...)
		}
	}
	defer func() {
		if wrong > 10 {
			t.Errorf("… and %d more", wrong-10)
		}
	}()
	seen, codes := map[string]int{}, map[string]bool{}
	for _, m := range state.Memberships {
		seen[m.OpenID]++
		codes[m.Code] = true
		if want := memberimport.RequestNo(memberimport.Membercard, emulator.DemoCardID, m.OpenID); m.RequestNo != want {
			errorf("%s imported with out_request_no %q, want %q", m.OpenID, m.RequestNo, want)
		}
	}
	if state.Count != len(valid) || len(state.Memberships) != len(valid) || len(seen) != len(valid) || len(codes) != len(valid) {
		t.Errorf("%d memberships (%d listed, %d users, %d codes), want %d", state.Count, len(state.Memberships), len(seen), len(codes), len(valid))
	}
	for id, n := range seen {
		if n != 1 || !valid[id] {
			errorf("%s: %d memberships, valid row: %v", id, n, valid[id])
		}
	}

	// The rejects file holds exactly the unknown rows, each once, with their row numbers.
	f, err := os.Open(input + ".rejects.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], []string{"row", "openid", "code", "error_code", "message"}) {
		t.Fatalf("rejects header: %q", recs)
	}
	got := map[string]bool{}
	for _, r := range recs[1:] {
		if r[3] != "PARAM_ERROR" || got[r[1]] || r[0] != strconv.Itoa(unknown[r[1]]) {
			errorf("reject %q (listed before: %v, unknown row: %d)", r, got[r[1]], unknown[r[1]])
		}
		got[r[1]] = true
	}
	if len(recs)-1 != len(unknown) {
		t.Errorf("%d rejects, want %d", len(recs)-1, len(unknown))
	}
	for id := range unknown {
		if !got[id] {
			errorf("%s missing from the rejects", id)
		}
	}

	// The emulator stops cleanly on SIGTERM.
	if err := emu.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := emuWait(); err != nil {
		t.Errorf("emulator: %v\n%s", err, emuErr.String())
	}
	if out := <-emuRest; !strings.HasSuffix(out, "emulator stopped\n") {
		t.Errorf("emulator output ends with %q", out)
	}
	t.Logf("%d rows, %d rejected, %d SIGKILLs: %s in all, %.0f rows/s", rows, bad, killCount, elapsed.Round(time.Second), float64(rows)/elapsed.Seconds())
}
