package memberimport_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/memberimport"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// BenchmarkImportThroughput imports b.N rows into an in-process emulator on
// loopback through the real client (request signed, answer signed by the
// emulator and verified) and reports rows/s and its ratio to the CPU bound of
// this machine: every row costs two RSA-2048 signatures, so the bound is the
// number of signature pairs per second all cores sustain. The target is
// x-cpu-bound ≥ 0.8. One sub-benchmark per concurrency, to pick the best:
//
//	go test -run '^$' -bench ImportThroughput -benchtime 3000x ./memberimport/
func BenchmarkImportThroughput(b *testing.B) {
	for _, c := range []int{4, 8, 16, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) { benchmarkImport(b, c) })
	}
}

func benchmarkImport(b *testing.B, concurrency int) {
	rows := b.N
	srv := wxpaytest.NewServer(wxpaytest.WithRealClock())
	defer srv.Close()
	input := filepath.Join(b.TempDir(), "members.csv")
	f, err := os.Create(input)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	users := make([]emulator.User, rows)
	for i := range users {
		users[i] = emulator.User{OpenID: fmt.Sprintf("oThroughput%08d", i), AppID: emulator.DemoAppID}
		fmt.Fprintln(w, users[i].OpenID)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	srv.Emulator.AddUser(users...)
	c, err := srv.NewClient()
	if err != nil {
		b.Fatal(err)
	}
	// The bound is measured next to the import, before and after, and the
	// higher figure kept: the machine may be shared, and a bound measured in a
	// quiet moment makes the ratio conservative.
	bound := testkeys.SignPairsPerSecond()
	b.ResetTimer()
	start := time.Now()
	sum, err := memberimport.Run(context.Background(), memberimport.Config{
		Client: c, Kind: memberimport.Membercard, CardID: emulator.DemoCardID, InputPath: input, Concurrency: concurrency})
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil || sum.Imported != int64(rows) || len(srv.Emulator.Memberships(emulator.DemoCardID)) != rows {
		b.Fatalf("%+v %v", sum, err)
	}
	bound = max(bound, testkeys.SignPairsPerSecond())
	rate := float64(rows) / elapsed.Seconds()
	b.ReportMetric(rate, "rows/s")
	b.ReportMetric(bound, "bound-rows/s")
	b.ReportMetric(rate/bound, "x-cpu-bound")
}
