// Package testkeys generates the RSA keys and certificates that tests, examples
// and benchmarks share. RSA-2048 generation takes tens of milliseconds, so each
// process generates one set, on first use.
package testkeys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"runtime"
	"sync"
	"time"
)

// Identifiers in the shapes WeChat Pay uses.
const (
	MchID          = "1900000001"
	MerchantSerial = "3775B6A45ACD588826D15E583A95F5DD00000001"
	PublicKeyID    = "PUB_KEY_ID_0114232134912410000000000000"
)

// Set is one generated key set.
type Set struct {
	Merchant *rsa.PrivateKey // the merchant API key that signs requests
	Platform *rsa.PrivateKey // WeChat Pay's key: signs responses, opens encrypted fields
	Other    *rsa.PrivateKey // an unrelated key, for "wrong key" cases
	// PlatformCert is a certificate over Platform's public key, for certificate mode.
	PlatformCert       *x509.Certificate
	PlatformCertSerial string
}

var shared = sync.OnceValue(func() *Set {
	s := &Set{Merchant: Generate(), Platform: Generate(), Other: Generate()}
	now := time.Now()
	s.PlatformCert = SelfSigned(s.Platform, big.NewInt(0x5157F09EFDC0), now.Add(-time.Hour), now.Add(5*365*24*time.Hour))
	s.PlatformCertSerial = "5157F09EFDC0"
	return s
})

// Shared returns the process-wide key set.
func Shared() *Set { return shared() }

// Generate returns a fresh RSA-2048 key.
func Generate() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("testkeys: " + err.Error())
	}
	return k
}

// SelfSigned returns a certificate over key's public key, signed by key itself.
func SelfSigned(key *rsa.PrivateKey, serial *big.Int, notBefore, notAfter time.Time) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Tenpay.com Root CA (test)"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("testkeys: " + err.Error())
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic("testkeys: " + err.Error())
	}
	return c
}

// SignPairsPerSecond measures the CPU bound of a signed API call on this
// machine: how many pairs of RSA-2048 signatures (the client's request and the
// server's answer) per second all cores sustain, signing with Merchant and
// Platform from 2×GOMAXPROCS goroutines.
func SignPairsPerSecond() float64 {
	s := Shared()
	d := sha256.Sum256([]byte("bound"))
	const pairsEach = 300
	goroutines := runtime.GOMAXPROCS(0) * 2
	var wg sync.WaitGroup
	start := time.Now()
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range pairsEach {
				// Errors are impossible with these keys; the result is not needed.
				_, _ = rsa.SignPKCS1v15(nil, s.Merchant, crypto.SHA256, d[:])
				_, _ = rsa.SignPKCS1v15(nil, s.Platform, crypto.SHA256, d[:])
			}
		}()
	}
	wg.Wait()
	return float64(goroutines*pairsEach) / time.Since(start).Seconds()
}
