package memberimport_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/memberimport"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// BenchmarkImportThroughput imports rows into an in-process emulator through the
// real client and reports rows/s and its ratio to the CPU bound of this machine:
// every row costs two RSA-2048 signatures (the request and the answer).
// WXPAY_IMPORT_CONCURRENCY picks the concurrency (default 16).
func BenchmarkImportThroughput(b *testing.B) {
	concurrency := 16
	if v, err := strconv.Atoi(os.Getenv("WXPAY_IMPORT_CONCURRENCY")); err == nil {
		concurrency = v
	}
	rows := b.N
	srv := wxpaytest.NewServer(wxpaytest.WithRealClock())
	defer srv.Close()
	users := make([]emulator.User, rows)
	input := filepath.Join(b.TempDir(), "members.csv")
	f, err := os.Create(input)
	if err != nil {
		b.Fatal(err)
	}
	for i := range users {
		users[i] = emulator.User{OpenID: fmt.Sprintf("oThroughput%08d", i)}
		fmt.Fprintln(f, users[i].OpenID)
	}
	f.Close()
	srv.Emulator.AddUser(users...)
	c, err := srv.NewClient()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	sum, err := memberimport.Run(context.Background(), memberimport.Config{
		Client: c, Kind: memberimport.Membercard, CardID: wxpaytest.CardID, InputPath: input, Concurrency: concurrency})
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil || sum.Imported != int64(rows) {
		b.Fatalf("%+v %v", sum, err)
	}
	rate := float64(rows) / elapsed.Seconds()
	bound := testkeys.SignPairsPerSecond()
	b.ReportMetric(rate, "rows/s")
	b.ReportMetric(bound, "bound-rows/s")
	b.ReportMetric(rate/bound, "x-cpu-bound")
}
