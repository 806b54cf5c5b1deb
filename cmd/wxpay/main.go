// Command wxpay calls WeChat Pay APIv3 from the command line, imports members in
// bulk, and runs a local emulator. Run `wxpay --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/wxpaykit/wxpay/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], cli.IO{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		StderrIsTerminal: isTerminal(os.Stderr),
	})
	stop()
	os.Exit(cli.ExitCode(err, os.Stderr))
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
