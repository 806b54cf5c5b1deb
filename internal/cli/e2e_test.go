package cli_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay/emulator"
)

// buildCLI compiles cmd/wxpay without the race detector, so that the RSA work of
// the processes below runs at full speed even under `go test -race`.
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

// TestImportSurvivesSIGKILL imports 100 000 rows, 300 of them unknown openids,
// killing the importer process with SIGKILL at five random points and running
// it again each time. At the end the emulator holds exactly one membership per
// valid row and the rejects file exactly the unknown rows.
func TestImportSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	rows, bad := 100000, 300
	if v := os.Getenv("WXPAY_E2E_ROWS"); v != "" { // quick local runs; CI runs 100 000
		rows, _ = strconv.Atoi(v)
		bad = rows * 3 / 1000
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	bin := buildCLI(t)

	// Inputs: the users the emulator knows, and the CSV with unknown openids mixed in.
	unknown := map[string]bool{}
	for len(unknown) < bad {
		unknown[fmt.Sprintf("oUnknownRow%07d", rng.IntN(rows))] = true
	}
	var usersBuf, csvBuf bytes.Buffer
	csvBuf.WriteString("openid,code\n")
	valid := map[string]bool{}
	for i := 0; i < rows; i++ {
		id := fmt.Sprintf("oUnknownRow%07d", i)
		if !unknown[id] {
			id = fmt.Sprintf("oE2EMember%07d", i)
			valid[id] = true
			usersBuf.WriteString(id + "\n")
		}
		csvBuf.WriteString(id + "\n")
	}
	usersFile, input := filepath.Join(dir, "users.txt"), filepath.Join(dir, "members.csv")
	if err := os.WriteFile(usersFile, usersBuf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(input, csvBuf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	// The emulator, in its own process.
	emu := exec.Command(bin, "emulator", "--addr", "127.0.0.1:0", "--dir", filepath.Join(dir, "emu"), "--users", usersFile)
	stdout, err := emu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Process.Signal(syscall.SIGTERM); _ = emu.Wait() })
	var base string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "wxpay emulator listening on "); ok {
			base = u
			break
		}
	}
	if base == "" {
		t.Fatal("the emulator did not start")
	}
	go func() {
		for sc.Scan() {
		}
	}()

	cfg := filepath.Join(dir, "emu", "wxpay.json")
	journal := input + ".journal"
	importer := func() *exec.Cmd {
		cmd := exec.Command(bin, "membercard", "import", "--config", cfg, "--card-id", emulator.DemoCardID,
			"--file", input, "--concurrency", "16")
		cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
		return cmd
	}

	// Five kills at random points of the journal.
	kills := make([]int, 5)
	for i := range kills {
		kills[i] = 1 + rng.IntN(rows-1)
	}
	sort.Ints(kills)
	start := time.Now()
	for _, at := range kills {
		cmd := importer()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		tick := time.NewTicker(20 * time.Millisecond)
		deadline := time.After(5 * time.Minute)
	wait:
		for {
			select {
			case err := <-exited:
				// It finished before reaching the kill point (a previous run went
				// further): nothing to kill this time.
				t.Logf("run ended by itself before line %d: %v", at, err)
				break wait
			case <-tick.C:
				if countLines(journal) > at {
					_ = cmd.Process.Kill() // SIGKILL: no defer, no flush, no goodbye
					<-exited
					break wait
				}
			case <-deadline:
				_ = cmd.Process.Kill()
				t.Fatalf("no progress to line %d of the journal", at)
			}
		}
		tick.Stop()
		t.Logf("killed at journal line %d (wanted > %d)", countLines(journal), at)
	}

	// The last run finishes.
	final := importer()
	if err := final.Run(); err != nil {
		t.Fatalf("final run: %v\nstdout: %s\nstderr: %s", err, final.Stdout, final.Stderr)
	}
	elapsed := time.Since(start)
	summary := final.Stdout.(*bytes.Buffer).String()
	if !strings.Contains(summary, fmt.Sprintf("rows %d:", rows)) || !strings.Contains(summary, fmt.Sprintf("rejected %d,", bad)) {
		t.Errorf("summary: %s", summary)
	}

	// Exactly one membership per valid row, none for the unknown ones.
	resp, err := http.Get(base + "/_emulator/memberships?card_id=" + emulator.DemoCardID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var state struct {
		Count       int `json:"count"`
		Memberships []struct {
			OpenID, Code string
		} `json:"memberships"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil {
		t.Fatal(err)
	}
	seen, codes := map[string]int{}, map[string]bool{}
	for _, m := range state.Memberships {
		seen[m.OpenID]++
		codes[m.Code] = true
	}
	if state.Count != len(valid) || len(seen) != len(valid) || len(codes) != len(valid) {
		t.Errorf("%d memberships (%d users, %d codes), want %d", state.Count, len(seen), len(codes), len(valid))
	}
	for id, n := range seen {
		if n != 1 || !valid[id] {
			t.Fatalf("%s: %d memberships, valid=%v", id, n, valid[id])
		}
	}

	// The rejects file holds exactly the unknown rows.
	f, err := os.Open(input + ".rejects.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range recs[1:] {
		if r[3] != "PARAM_ERROR" || got[r[1]] {
			t.Fatalf("reject %v (duplicate: %v)", r, got[r[1]])
		}
		got[r[1]] = true
	}
	if len(got) != len(unknown) {
		t.Errorf("%d rejects, want %d", len(got), len(unknown))
	}
	for id := range unknown {
		if !got[id] {
			t.Errorf("%s missing from the rejects", id)
		}
	}
	t.Logf("%d rows, %d rejected, 5 kills, %s in all (%.0f rows/s)", rows, bad, elapsed.Round(time.Second), float64(rows)/elapsed.Seconds())
}
