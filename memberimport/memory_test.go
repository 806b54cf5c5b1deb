package memberimport_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/internal/longtest"
	"github.com/wxpaykit/wxpay/memberimport"
)

// The memory proof runs the importer in a child process, built without the race
// detector (whose shadow memory would dwarf the importer's), and reads the child's
// peak resident set (VmHWM) after an import and a resume over generated rows.
// The network is replaced by an instant Send: what is measured is the machinery
// that scales with the input — CSV streaming, the finished-row bitset, the
// journal with group commit, the rejects file.

const rssLimitMB = 64

// TestMemoryFlatInInputSize measures 1 M rows (WXPAY_RSS_ROWS to change it).
// It takes a minute on two cores, so it runs with WXPAY_LONG=1 (as .ci/run
// does); TestMemoryModestInput is its short version in the default run.
func TestMemoryFlatInInputSize(t *testing.T) {
	longtest.Require(t)
	t.Parallel()
	rows := 1_000_000
	if v := os.Getenv("WXPAY_RSS_ROWS"); v != "" {
		rows, _ = strconv.Atoi(v)
	}
	checkImportRSS(t, rows)
}

// TestMemoryModestInput runs the memory proof over 100 000 rows: the same
// machinery and limit, in a few seconds.
func TestMemoryModestInput(t *testing.T) {
	t.Parallel()
	checkImportRSS(t, 100_000)
}

func checkImportRSS(t *testing.T, rows int) {
	t.Helper()
	peak, took := measureImportRSS(t, rows)
	t.Logf("%d rows: peak RSS %.1f MB (import + resume in %s)", rows, peak, took.Round(time.Second))
	if peak >= rssLimitMB {
		t.Errorf("peak RSS %.1f MB, want < %d MB", peak, rssLimitMB)
	}
}

// BenchmarkImport10MRows reports the peak RSS of importing and resuming 10 M rows.
func BenchmarkImport10MRows(b *testing.B) {
	for range b.N {
		peak, took := measureImportRSS(b, 10_000_000)
		b.ReportMetric(peak, "peak-RSS-MB")
		b.ReportMetric(took.Seconds(), "s-import+resume")
		if peak >= rssLimitMB {
			b.Errorf("peak RSS %.1f MB, want < %d MB", peak, rssLimitMB)
		}
	}
}

func measureImportRSS(tb testing.TB, rows int) (float64, time.Duration) {
	tb.Helper()
	dir := tb.TempDir()
	bin := filepath.Join(dir, "memberimport.test")
	build := exec.Command("go", "test", "-c", "-o", bin, "github.com/wxpaykit/wxpay/memberimport")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("go test -c: %v\n%s", err, out)
	}
	child := exec.Command(bin, "-test.run", "^TestImportRSSChild$", "-test.v")
	child.Env = append(os.Environ(), "WXPAY_RSS_CHILD_ROWS="+strconv.Itoa(rows), "WXPAY_RSS_CHILD_DIR="+dir)
	start := time.Now()
	out, err := child.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		tb.Fatalf("child: %v\n%s", err, out)
	}
	_, after, ok := bytes.Cut(out, []byte("peak-rss-kb "))
	if !ok {
		tb.Fatalf("child printed no peak RSS:\n%s", out)
	}
	kb, err := strconv.Atoi(strings.Fields(string(after))[0])
	if err != nil {
		tb.Fatal(err)
	}
	return float64(kb) / 1024, took
}

// TestImportRSSChild is the child process of the memory proof; it does nothing
// unless started by measureImportRSS.
func TestImportRSSChild(t *testing.T) {
	rowsEnv, dir := os.Getenv("WXPAY_RSS_CHILD_ROWS"), os.Getenv("WXPAY_RSS_CHILD_DIR")
	if rowsEnv == "" {
		t.Skip("child process of the memory proof (TestMemoryModestInput, TestMemoryFlatInInputSize)")
	}
	rows, _ := strconv.Atoi(rowsEnv)
	input := filepath.Join(dir, "members.csv")
	f, err := os.Create(input)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("openid,code\n")
	for i := 0; i < rows; i++ {
		// Every 1000th row is rejected, so the rejects file is exercised too.
		if i%1000 == 999 {
			fmt.Fprintf(w, "oBadMember%09d\n", i)
		} else {
			fmt.Fprintf(w, "oGoodMember%09d\n", i)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	send := func(_ context.Context, row memberimport.Row, _ string) (string, error) {
		if strings.HasPrefix(row.OpenID, "oBad") {
			return "", errRejected
		}
		return "000000000001", nil
	}
	cfg := memberimport.Config{Kind: memberimport.Membercard, CardID: "pbLat", InputPath: input, Send: send, Concurrency: 8}
	sum, err := memberimport.Run(context.Background(), cfg)
	if err != nil || !sum.Complete() || sum.Rejected != int64(rows/1000) {
		t.Fatalf("import: %+v %v", sum, err)
	}
	sum, err = memberimport.Run(context.Background(), cfg) // the resume path: journal replay, all rows skipped
	if err != nil || sum.Skipped != int64(rows) {
		t.Fatalf("resume: %+v %v", sum, err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc: peak RSS is measured on Linux")
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Println("peak-rss-kb", strings.Fields(v)[0])
		}
	}
}

var errRejected = &wxpay.APIError{StatusCode: 400, Code: "PARAM_ERROR", Message: "OpenID有误"}
