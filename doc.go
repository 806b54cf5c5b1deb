// Package wxpay is a client for the WeChat Pay (微信支付) APIv3.
//
// A Client signs every request (WECHATPAY2-SHA256-RSA2048), verifies the signature
// of every response against WeChat Pay's public key or platform certificates, and
// encrypts Sensitive values with RSAES-OAEP, setting Wechatpay-Serial for you.
// Non-2xx answers become *APIError; verification failures wrap ErrSignatureMismatch,
// ErrClockSkew, ErrUnknownSerial or ErrMissingSignature.
//
// Any endpoint can be called through the declarative chain, the Go form of the
// reference SDK's chain('v3/…'):
//
//	merchantKey, _ := wxpay.LoadPrivateKeyFile("apiclient_key.pem")
//	wechatKey, _ := wxpay.LoadPublicKeyFile("pub_key.pem")
//	client, err := wxpay.NewClient(
//		wxpay.WithMerchant("1900000001", "3775B6A45ACD588826D15E583A95F5DD00000000", merchantKey),
//		wxpay.WithPlatformPublicKey("PUB_KEY_ID_0114232134912410000000000000", wechatKey),
//	)
//	…
//	resp, err := client.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").
//		Post(ctx, map[string]any{"activate_type": "AUTO_ACTIVATE"}, wxpay.PathParam("card_id", cardID))
//
// The typed chain, client.V3, mirrors the URL with one package per product family
// under apiv3/ (pay, refunddomestic, bill, media, membercardopen, …):
//
//	resp, err := client.V3.Pay.Transactions.JSAPI.Post(ctx, &pay.PrepayJSAPIRequest{…})
//
// Every call has an asynchronous twin returning a *Future.
package wxpay
