package wxpay

import (
	"context"
	"fmt"
)

// This file picks the key Sensitive values are encrypted with. It lives in
// the verifier's key set, which certificate renewal replaces as a whole, so a
// request takes it once and uses it for every field and for Wechatpay-Serial.

// platformKeys returns the key to encrypt with. With renewal on and no key
// at all yet, it first waits for the first download, bounded by ctx; the
// download itself (path) never waits.
func (c *Client) platformKeys(ctx context.Context, path string) (*platformKey, error) {
	if r := c.renewal; r != nil && path != certificatesPath {
		if err := r.awaitKey(ctx); err != nil {
			return nil, err
		}
	}
	return c.encryptionKey(), nil
}

// encryptionKey is the key Sensitive values are encrypted with now.
func (c *Client) encryptionKey() *platformKey { return c.verifier.set.Load().enc }

// encryptFor encrypts with k, one key for every field of a request.
func (c *Client) encryptFor(k *platformKey) func(plaintext string) (string, error) {
	return func(plaintext string) (string, error) {
		if k == nil {
			return "", fmt.Errorf("%w: no WeChat Pay key to encrypt with", ErrEncrypt)
		}
		return EncryptOAEP(c.rand, k.pub, []byte(plaintext))
	}
}

// encodeBody is encodeBodyFor with the current key.
func (c *Client) encodeBody(body any) ([]byte, bool, error) {
	return c.encodeBodyFor(body, c.encryptionKey())
}
