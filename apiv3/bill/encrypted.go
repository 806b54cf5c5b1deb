package bill

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/wxpaykit/wxpay/core"
)

// A sub-merchant's fund-flow bill (GetSubMerchantFundFlowBill) comes as a list
// of encrypted files. Each is the bill — gzipped first when tar_type=GZIP was
// asked — sealed with AEAD_AES_256_GCM under its own key: encrypt_key carries
// that key, RSAES-OAEP encrypted with the merchant certificate's public key;
// nonce is the GCM nonce, its characters used as bytes (16 in the documented
// example); the associated data is empty. hash_value is the SHA-1 of the
// original bill, decrypted and uncompressed. A bill too large for one file
// (about 16 GB uncompressed) is split, and the decrypted files join in
// bill_sequence order.

// EncryptedDownloader is what the encrypted bills need: a Downloader for the
// files and a core.Decrypter that opens encrypt_key with the merchant's
// private key. *wxpay.Client is one when its signer can decrypt (an
// *rsa.PrivateKey can).
type EncryptedDownloader interface {
	Downloader
	core.Decrypter
}

// ErrDecrypt is wrapped when an encrypted bill file cannot be opened: its
// encrypt_key does not decrypt (the error then also wraps the Decrypter's) or
// is not an AES-256 key, its nonce is unusable, or the AES-GCM tag does not
// match — a wrong key or nonce, or a file altered or cut short. Nothing was
// written.
var ErrDecrypt = errors.New("bill: the encrypted file could not be decrypted")

// MaxEncryptedFileBytes bounds the ciphertext of one encrypted file as
// downloaded: AES-GCM authenticates a file as a whole, so it is held in memory
// until its tag is checked. A larger file fails with ErrTooLarge.
const MaxEncryptedFileBytes = 1 << 30

// maxNonceBytes bounds the nonce: the documented one is 16 characters.
const maxNonceBytes = 64

var gzipMagic = []byte{0x1f, 0x8b}

// DownloadEncrypted downloads one encrypted file of a sub-merchant's
// fund-flow bill into w: it opens encrypt_key with d, fetches the file
// (bounded by MaxEncryptedFileBytes), decrypts it, gunzips it when it is
// gzip, and checks the SHA-1 of the bill against hash_value before writing
// anything. It returns the number of bytes written: ErrDecrypt when the file
// does not open, ErrHashMismatch when its hash differs (w then holds a file to
// discard), ErrTooLarge past the bounds.
func DownloadEncrypted(ctx context.Context, d EncryptedDownloader, f *EncryptedFile, w io.Writer) (int64, error) {
	return downloadEncrypted(ctx, d, f, w, MaxEncryptedFileBytes, MaxFileBytes)
}

// downloadEncrypted is DownloadEncrypted with its bounds as parameters, for
// tests.
func downloadEncrypted(ctx context.Context, d EncryptedDownloader, f *EncryptedFile, w io.Writer, maxSealed, maxBytes int64) (int64, error) {
	if f == nil || f.DownloadURL == "" {
		return 0, fmt.Errorf("%w: bill: no download URL", core.ErrInvalidRequest)
	}
	if !isSHA1(f.HashType) {
		return 0, fmt.Errorf("%w: bill: hash_type %q is not SHA1", core.ErrInvalidRequest, f.HashType)
	}
	key, err := d.Decrypt(f.EncryptKey)
	if err != nil {
		return 0, fmt.Errorf("%w: encrypt_key: %w", ErrDecrypt, err)
	}
	g, err := billAEAD([]byte(key), f.Nonce)
	if err != nil {
		return 0, err
	}
	sealed := &boundedBuffer{max: maxSealed}
	_, err = d.Download(ctx, f.DownloadURL, sealed)
	switch {
	case sealed.over:
		return 0, fmt.Errorf("%w: the encrypted file is larger than %d bytes", ErrTooLarge, maxSealed)
	case err != nil:
		return 0, err
	}
	return openBill(g, f.Nonce, sealed.b, f.HashValue, w, maxBytes)
}

// billAEAD is AES-256-GCM under key with a nonce of nonce's length.
func billAEAD(key []byte, nonce string) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: the key is %d bytes; AEAD_AES_256_GCM takes 32 (SM4_GCM bills are not supported)", ErrDecrypt, len(key))
	}
	if len(nonce) == 0 || len(nonce) > maxNonceBytes {
		return nil, fmt.Errorf("%w: the nonce is %d bytes, want 1 to %d", ErrDecrypt, len(nonce), maxNonceBytes)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	g, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return g, nil
}

// openBill decrypts sealed in place (empty associated data), gunzips it when
// it is gzip — the compression comes before the encryption, so the plaintext
// tells — and copies it into w once, bounded and hashed against hash.
func openBill(g cipher.AEAD, nonce string, sealed []byte, hash string, w io.Writer, maxBytes int64) (int64, error) {
	if len(sealed) < g.Overhead() {
		return 0, fmt.Errorf("%w: the file is %d bytes, shorter than its %d-byte tag", ErrDecrypt, len(sealed), g.Overhead())
	}
	plain, err := g.Open(sealed[:0], []byte(nonce), sealed, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: AES-GCM tag mismatch (wrong key or nonce, or the file was altered or cut short)", ErrDecrypt)
	}
	return copyHashed(bytes.NewReader(plain), w, bytes.HasPrefix(plain, gzipMagic), hash, maxBytes)
}

// boundedBuffer collects a download up to max bytes, and refuses more.
type boundedBuffer struct {
	b    []byte
	max  int64
	over bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if int64(len(b.b))+int64(len(p)) > b.max {
		b.over = true
		return 0, ErrTooLarge
	}
	b.b = append(b.b, p...)
	return len(p), nil
}

// DownloadEncryptedList downloads every file of a sub-merchant's fund-flow
// bill into w, one after another in bill_sequence order, each checked as
// DownloadEncrypted does: w then holds the whole bill. The list must be
// complete (download_bill_count files numbered 1 to n). On an error, w holds
// a partial bill to discard; WriteEncryptedList writes a path only once every
// file matched.
func DownloadEncryptedList(ctx context.Context, d EncryptedDownloader, l *EncryptedFileList, w io.Writer) (int64, error) {
	return downloadEncryptedList(ctx, d, l, w, MaxEncryptedFileBytes, MaxFileBytes)
}

func downloadEncryptedList(ctx context.Context, d EncryptedDownloader, l *EncryptedFileList, w io.Writer, maxSealed, maxBytes int64) (int64, error) {
	files, err := inSequence(l)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, f := range files {
		n, err := downloadEncrypted(ctx, d, f, w, maxSealed, maxBytes)
		total += n
		if err != nil {
			return total, fmt.Errorf("bill: file %d of %d: %w", f.BillSequence, len(files), err)
		}
	}
	return total, nil
}

// inSequence checks that l is a complete list and orders it by bill_sequence.
func inSequence(l *EncryptedFileList) ([]*EncryptedFile, error) {
	if l == nil || len(l.DownloadBillList) == 0 {
		return nil, fmt.Errorf("%w: bill: the list has no file", core.ErrInvalidRequest)
	}
	if l.DownloadBillCount != int64(len(l.DownloadBillList)) {
		return nil, fmt.Errorf("%w: bill: download_bill_count is %d, the list has %d files", core.ErrInvalidRequest, l.DownloadBillCount, len(l.DownloadBillList))
	}
	files := make([]*EncryptedFile, len(l.DownloadBillList))
	for i := range l.DownloadBillList {
		files[i] = &l.DownloadBillList[i]
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].BillSequence < files[j].BillSequence })
	for i, f := range files {
		if f.BillSequence != int64(i+1) {
			return nil, fmt.Errorf("%w: bill: the files are not numbered 1 to %d (bill_sequence %d)", core.ErrInvalidRequest, len(files), f.BillSequence)
		}
	}
	return files, nil
}

// WriteEncryptedList downloads every file of a sub-merchant's fund-flow bill
// into path, as DownloadEncryptedList does: into a .part file first, renamed
// to path once every file matched its hash, removed otherwise.
func WriteEncryptedList(ctx context.Context, d EncryptedDownloader, l *EncryptedFileList, path string) (int64, error) {
	return writeVia(path, func(w io.Writer) (int64, error) {
		return downloadEncryptedList(ctx, d, l, w, MaxEncryptedFileBytes, MaxFileBytes)
	})
}
