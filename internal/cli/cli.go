// Package cli implements the wxpay command. main only wires the process to Run.
package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/wxpaykit/wxpay"
)

// Exit codes, stable for scripts.
const (
	ExitOK           = 0
	ExitFailure      = 1 // configuration or local failure
	ExitUsage        = 2 // bad command line
	ExitRejected     = 3 // WeChat Pay rejected the request (4xx other than 429)
	ExitUnavailable  = 4 // 5xx, 429 or no answer, after retries
	ExitUnverified   = 5 // the answer failed signature verification
	ExitIncomplete   = 6 // an import stopped early or left rows to retry: run it again
	ExitRowsRejected = 7 // an import finished, but rejected rows: they are in the rejects file
	exitCodesSummary = `Exit status: 0 ok, 1 error, 2 usage, 3 request rejected (4xx), 4 service unavailable
(5xx, 429, network, after retries), 5 answer failed verification, 6 import incomplete (run again),
7 import finished with rejected rows (see the rejects file).`
)

// IO is what a command may touch of the process.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// StderrIsTerminal enables the import progress bar.
	StderrIsTerminal bool
}

type command struct {
	name    string
	args    string // usage after the name
	short   string
	long    string
	setup   func(fs *flag.FlagSet) func(ctx context.Context, io IO, args []string) error
	subs    []*command
	globals bool // takes the connection flags
}

// usageError is a command-line mistake: exit 2 with the command's usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// ExitError carries an exit code chosen by a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func root() *command {
	return &command{name: "wxpay", short: "WeChat Pay APIv3 from the command line, and a local emulator",
		subs: []*command{demoCommand(), emulatorCommand(), callCommand(), uploadCommand(), billCommand(), certificatesCommand(), importCommand("membercard"), importCommand("brand"), versionCommand()}}
}

// Run executes the command line args (without the program name).
func Run(ctx context.Context, args []string, io IO) error {
	if io.Getenv == nil {
		io.Getenv = func(string) string { return "" }
	}
	cmd, rest, path := root(), args, []string{"wxpay"}
	for len(rest) > 0 && len(cmd.subs) > 0 {
		next := find(cmd.subs, rest[0])
		if next == nil {
			break
		}
		cmd, rest, path = next, rest[1:], append(path, next.name)
	}
	if cmd.setup == nil {
		if len(rest) > 0 && rest[0] != "-h" && rest[0] != "--help" && rest[0] != "help" {
			printHelp(io.Stderr, cmd, path)
			return usagef("unknown command %q", rest[0])
		}
		printHelp(io.Stdout, cmd, path)
		return nil
	}
	fs := flag.NewFlagSet(strings.Join(path, " "), flag.ContinueOnError)
	fs.Usage = func() { printHelp(fs.Output(), cmd, path); printFlags(fs) }
	run := cmd.setup(fs)
	// Parse calls Usage itself, for -h as for a bad flag: hold what it prints
	// until we know whether it belongs on stdout (help asked for) or stderr.
	var parseOut bytes.Buffer
	fs.SetOutput(&parseOut)
	err := fs.Parse(interleaved(fs, rest))
	fs.SetOutput(io.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, err := io.Stdout.Write(parseOut.Bytes())
			return err
		}
		_, _ = io.Stderr.Write(parseOut.Bytes())
		return usageError{err.Error()}
	}
	err = run(ctx, io, fs.Args())
	var ue usageError
	if errors.As(err, &ue) {
		fs.Usage()
	}
	return err
}

// interleaved lets flags follow positional arguments (wxpay call GET /v3/x --query a=b)
// by moving every flag in front of the positionals.
func interleaved(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' && a != "-" {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			if f := fs.Lookup(name); f != nil {
				if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
					continue
				}
				if i+1 < len(args) {
					flags = append(flags, args[i+1])
					i++
				}
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

// printFlags lists the flags of fs, if it has any, on fs.Output().
func printFlags(fs *flag.FlagSet) {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
}

func find(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printHelp(w io.Writer, cmd *command, path []string) {
	fmt.Fprintf(w, "%s — %s\n\nUsage:\n  %s", strings.Join(path, " "), cmd.short, strings.Join(path, " "))
	if len(cmd.subs) > 0 {
		fmt.Fprint(w, " <command>")
	}
	if cmd.args != "" {
		fmt.Fprint(w, " "+cmd.args)
	}
	fmt.Fprintln(w)
	if cmd.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.long))
	}
	if len(cmd.subs) > 0 {
		fmt.Fprintln(w, "\nCommands:")
		subs := append([]*command(nil), cmd.subs...)
		if len(path) > 1 {
			sort.Slice(subs, func(i, j int) bool { return subs[i].name < subs[j].name })
		}
		for _, s := range subs {
			fmt.Fprintf(w, "  %-14s %s\n", s.name, s.short)
		}
		fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", strings.Join(path, " "))
	}
	if cmd.globals {
		fmt.Fprintln(w, "\n"+connectionHelp)
	}
	if len(path) == 1 {
		fmt.Fprintln(w, "\n"+exitCodesSummary)
	}
}

// ExitCode maps an error from Run to the process exit status and prints it.
func ExitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ue usageError
	var ee *ExitError
	var ae *wxpay.APIError
	var ve *wxpay.VerificationError
	var te *wxpay.TransportError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "wxpay:", ue.msg)
		return ExitUsage
	case errors.Is(err, wxpay.ErrInvalidRequest):
		// Refused before sending: a bad header, path or query value, a
		// request that fails validation — the command line's input.
		fmt.Fprintln(stderr, err)
		return ExitUsage
	case errors.As(err, &ee):
		if ee.Err != nil {
			fmt.Fprintln(stderr, ee.Err)
		}
		return ee.Code
	case errors.As(err, &ae):
		printAPIError(stderr, ae)
		if ae.Temporary() {
			return ExitUnavailable
		}
		return ExitRejected
	case errors.As(err, &ve):
		fmt.Fprintln(stderr, err)
		return ExitUnverified
	case errors.As(err, &te), errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintln(stderr, err)
		return ExitUnavailable
	}
	fmt.Fprintln(stderr, err)
	return ExitFailure
}

func printAPIError(w io.Writer, e *wxpay.APIError) {
	fmt.Fprintf(w, "wxpay: %d %s: %s\n", e.StatusCode, orDash(e.Code), orDash(e.Message))
	if d := e.Detail; d != nil {
		for _, kv := range [][2]string{{"field", d.Field}, {"value", d.Value}, {"issue", d.Issue}, {"location", d.Location}} {
			if kv[1] != "" {
				fmt.Fprintf(w, "  %-9s %s\n", kv[0]+":", kv[1])
			}
		}
	}
	if e.Body != "" {
		fmt.Fprintf(w, "  %-9s %q\n", "body:", e.Body)
	}
	fmt.Fprintf(w, "  %-9s %s %s", "request:", e.Method, e.Path)
	if e.RequestID != "" {
		fmt.Fprintf(w, " (Request-ID %s)", e.RequestID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(w, ", %d attempts", e.Attempts)
	}
	fmt.Fprintln(w)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func versionCommand() *command {
	return &command{name: "version", short: "print the version",
		setup: func(fs *flag.FlagSet) func(context.Context, IO, []string) error {
			return func(_ context.Context, io IO, _ []string) error {
				fmt.Fprintln(io.Stdout, "wxpay", wxpay.Version)
				return nil
			}
		}}
}
