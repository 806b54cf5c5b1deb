// Package emulator is a local WeChat Pay APIv3 server for tests, demos and
// development: an http.Handler that behaves like the real service for the
// brand card-member, membercard-open and payroll-card families.
//
//	e, err := emulator.New(
//		emulator.WithMerchant(mchID, merchantSerial, &merchantKey.PublicKey),
//		emulator.WithPublicKey("PUB_KEY_ID_0114232134912410000000000000", platformKey),
//		emulator.WithAPIv3Key(apiV3Key),
//	)
//	srv := e.HTTPServer() // every read bounded, see Limits
//	srv.Addr = "127.0.0.1:8080"
//	log.Fatal(srv.ListenAndServe())
//
// Most users start it through wxpaytest.NewServer (Go tests) or
// `wxpay emulator --dir DIR` (any language; see OpenSandbox).
//
// # What a request goes through
//
// In this order; the first failure answers:
//
//  1. Accept and User-Agent present, Accept allowing JSON: else 400 INVALID_REQUEST.
//  2. The body, read through http.MaxBytesReader: too large is 400
//     INVALID_REQUEST, too slow 408 INVALID_REQUEST (see Limits).
//  3. Authorization: a malformed header is 400 INVALID_REQUEST; an unknown mchid,
//     a serial not registered for it, a timestamp outside the window, a signature
//     that does not verify over the raw method, request target (never
//     re-encoded) and body bytes, or a nonce the merchant already used within
//     the window is 401 SIGN_ERROR, each with its own message (and, for a bad
//     signature, the sign_information diagnostic the real service returns).
//  4. Routing by the api/ spec: 404 RESOURCE_NOT_EXISTS for an unknown path,
//     405 INVALID_REQUEST for a known path with another method.
//  5. Faults set with SetFault that refuse the call (latency, drop, 500, 429):
//     before anything is parsed or changed, so a refused call has no effect.
//  6. Content-Type application/json for bodies, well-formed JSON (400
//     PARAM_ERROR otherwise), Wechatpay-Serial naming a key of the emulator when
//     fields are encrypted, then the spec's rules on path parameters, query and
//     body: required, JSON type, max_length in characters, enum, pattern,
//     nested objects and arrays, ciphertext that decrypts. A violation is 400
//     PARAM_ERROR with detail {field, value, issue, location}, field being a
//     JSON Pointer into the body or a parameter name. Unknown fields pass, as
//     the protocol requires.
//  7. The operation: real behaviour and state for the core operations and the
//     obvious lifecycles (card templates, user cards, imports, callback URL,
//     brand-member coupon activities, and what follows the member's actions
//     of control.go: activation information, confirmations of card openings
//     and points exchanges);
//     every other operation gets an answer synthesised from the spec's
//     response fields, echoing request values where names match.
//
// # Limits
//
// A client cannot hold a connection by sending slowly or not at all, as with
// a real front end:
//
//   - request line and headers: within the read timeout (WithReadTimeout,
//     default 5 s) and MaxHeaderBytes (32 KiB), else the connection is closed
//     without an answer (431 when too large), as nginx does;
//   - body: within the read timeout again, counted from when the headers are
//     in, else 408 INVALID_REQUEST and the connection is closed; at most
//     WithMaxBodyBytes (default 1 MiB), else 400 INVALID_REQUEST;
//   - a kept-alive connection is closed after the idle timeout
//     (WithIdleTimeout, default 60 s; the real service advertises 8 s).
//
// The body bound belongs to ServeHTTP and holds under any server that
// supports http.ResponseController deadlines; the others are the http.Server's,
// so serve the emulator with HTTPServer (or copy its fields).
//
// # Signatures
//
// Every answer after a successful authentication is signed, errors included:
// the real service's practice for non-401 errors is not documented (protocol
// notes §15), signing them is harmless and clients verify only 2xx answers.
// Answers before authentication (steps 1–3) carry no Wechatpay-* headers, as
// the observed 401 SIGN_ERROR does not. The key follows protocol §5: the WeChat
// Pay public key in public-key mode, the newest platform certificate in
// certificate mode (or the one named by the request's Wechatpay-Serial; see
// RotateCertificate for rotations), and with both (the transition) the public
// key only when the request's Wechatpay-Serial names it.
//
// # Determinism
//
// Every random choice (request IDs, nonces, tokens, codes, fault decisions)
// comes from one math/rand/v2 source seeded by WithSeed, and every time from
// WithClock, so a sequence of calls gets the same answers run after run.
// Signatures (RSASSA-PKCS1-v1_5) are deterministic too; only the RSAES-OAEP
// ciphertexts of personal data returned to merchants use crypto/rand.
//
// # Sandbox files
//
// OpenSandbox keeps a complete key set in a directory so that an SDK in any
// language can call the emulator:
//
//	apiclient_key.pem  merchant API private key, PKCS#8 PEM            (0600)
//	merchant.json      {"mchid", "serial", "public_key_id", "appid", "openid"}
//	pub_key.pem        WeChat Pay public key, SPKI PEM, for verifying
//	                   answers and encrypting fields; its ID is public_key_id
//	apiv3.key          the 32-character APIv3 key                       (0600)
//	emulator_key.pem   the emulator's own private key, never for clients (0600)
//	wxpay.json         a configuration for the wxpay CLI (Sandbox.WriteConfig)
//
// Existing files are reused, so keys survive restarts.
package emulator
