package bill

import (
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/wxpaykit/wxpay/core"
)

// Downloader fetches a download_url into w, signed and unverified (the file is
// unsigned by design); *wxpay.Client is one.
type Downloader interface {
	Download(ctx context.Context, downloadURL string, w io.Writer) (*core.Response, error)
}

// ErrHashMismatch means the downloaded file is not the one the application
// described: its SHA-1 differs from hash_value. Discard what was written.
var ErrHashMismatch = errors.New("bill: the downloaded file does not match its hash_value")

// ErrTooLarge means the uncompressed file grew past MaxFileBytes, or an
// encrypted file's ciphertext past MaxEncryptedFileBytes.
var ErrTooLarge = errors.New("bill: the file is larger than MaxFileBytes")

// MaxFileBytes bounds an uncompressed bill, so that a hostile gzip stream cannot
// fill a disk. A day's bill of a million orders is about 300 MB.
const MaxFileBytes = 4 << 30

// Download fetches the bill file an application answered (GetTradeBill,
// GetFundFlowBill) into w: the file streams through bounded memory, is
// gunzipped when the URL asks for GZIP (tar_type=GZIP), and its uncompressed
// bytes are hashed as they pass. It returns the number of bytes written, and
// ErrHashMismatch when the hash differs: w then holds a file to discard.
// WriteFile writes to a path only once the hash matched.
func Download(ctx context.Context, d Downloader, f *File, w io.Writer) (int64, error) {
	return download(ctx, d, f, w, MaxFileBytes)
}

// download is Download with the bound on the uncompressed file as a
// parameter, so that tests can show a gzip bomb stopped without inflating
// gigabytes.
func download(ctx context.Context, d Downloader, f *File, w io.Writer, maxBytes int64) (int64, error) {
	if f == nil || f.DownloadURL == "" {
		return 0, fmt.Errorf("%w: bill: no download URL", core.ErrInvalidRequest)
	}
	if !isSHA1(f.HashType) {
		return 0, fmt.Errorf("%w: bill: hash_type %q is not SHA1", core.ErrInvalidRequest, f.HashType)
	}
	u, err := url.Parse(f.DownloadURL)
	if err != nil {
		return 0, fmt.Errorf("%w: bill: download URL: %v", core.ErrInvalidRequest, err)
	}
	gz := strings.EqualFold(u.Query().Get("tartype"), "GZIP")

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := d.Download(ctx, f.DownloadURL, pw)
		pw.CloseWithError(err) // nil: EOF for the reader
		done <- err
	}()
	n, copyErr := copyHashed(pr, w, gz, f.HashValue, maxBytes)
	pr.CloseWithError(errStopped) // unblock the downloader if the copy stopped early
	dlErr := <-done
	switch {
	case dlErr != nil && !errors.Is(dlErr, errStopped):
		return n, dlErr
	case copyErr != nil:
		return n, copyErr
	}
	return n, nil
}

var errStopped = errors.New("bill: download stopped")

func isSHA1(hashType string) bool { return strings.EqualFold(hashType, "SHA1") }

// copyHashed copies the (possibly gzipped) stream into w, bounded, and checks
// the SHA-1 of the uncompressed bytes against want (hex, any case).
func copyHashed(r io.Reader, w io.Writer, gz bool, want string, maxBytes int64) (int64, error) {
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return 0, fmt.Errorf("bill: the file is not gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	h := sha1.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(r, maxBytes+1))
	if err != nil {
		return n, fmt.Errorf("bill: reading the file: %w", err)
	}
	if n > maxBytes {
		return n, ErrTooLarge
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return n, fmt.Errorf("%w: SHA-1 %s, hash_value %q", ErrHashMismatch, got, want)
	}
	return n, nil
}

// WriteFile downloads the bill into path: into path+".part" first, renamed to
// path once the hash matched, removed otherwise.
func WriteFile(ctx context.Context, d Downloader, f *File, path string) (int64, error) {
	return writeFile(ctx, d, f, path, MaxFileBytes)
}

func writeFile(ctx context.Context, d Downloader, f *File, path string, maxBytes int64) (int64, error) {
	return writeVia(path, func(w io.Writer) (int64, error) { return download(ctx, d, f, w, maxBytes) })
}

// writeVia has fill write into a .part file next to path, renamed to path
// once fill succeeded, removed otherwise.
func writeVia(path string, fill func(io.Writer) (int64, error)) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.part")
	if err != nil {
		return 0, err
	}
	n, err := fill(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return n, err
	}
	return n, nil
}
