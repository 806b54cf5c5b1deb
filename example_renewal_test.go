package wxpay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// A certificate-mode merchant keeps verifying while WeChat Pay (here the
// emulator) rotates its platform certificate: the first answer signed with
// the new certificate makes the client download the list, which is signed by
// the certificate it already trusts, and verify the answer again.
func ExampleWithCertificateRenewal() {
	srv := wxpaytest.NewServer(wxpaytest.WithCertificateMode())
	defer srv.Close()
	client := srv.Client(wxpay.WithCertificateRenewal(srv.APIv3Key(), wxpay.CertificateRenewal{}))
	defer client.Close() // stops the renewal
	ctx := context.Background()
	if err := client.RenewCertificates(ctx); err != nil { // optional: fail fast at start-up
		fmt.Println(err)
		return
	}
	fmt.Println("trusted:", client.Verifier().Serials())

	// A minute later, the service starts signing with a new certificate.
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x7132D72A03E9), Subject: pkix.Name{CommonName: "Tenpay.com Root CA (example)"},
		NotBefore: wxpaytest.Start, NotAfter: wxpaytest.Start.AddDate(6, 0, 0)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	srv.Clock().Advance(time.Minute)
	if err := srv.Emulator.RotateCertificate(cert, key); err != nil {
		fmt.Println(err)
		return
	}

	resp, err := client.Chain("v3/marketing/membercard-open/cards/{card_id}").Get(ctx, wxpay.PathParam("card_id", emulator.DemoCardID))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("answer signed by", resp.Header.Get("Wechatpay-Serial"))
	fmt.Println("trusted:", client.Verifier().Serials())
	fmt.Println("encrypting for", client.EncryptionSerial())
	// Output:
	// trusted: [5157F09EFDC0]
	// answer signed by 7132D72A03E9
	// trusted: [5157F09EFDC0 7132D72A03E9]
	// encrypting for 7132D72A03E9
}
