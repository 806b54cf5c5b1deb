package wxpay

import "github.com/wxpaykit/wxpay/core"

// The values a call exchanges are defined in package core, which the generated
// API packages share with the client; they are the same types under the same
// names here.

// Response is a verified answer: status, headers, the raw body as received.
type Response = core.Response

// Future is the result of an asynchronous (…Async) call.
type Future[T any] = core.Future[T]

// CallOption sets a per-call detail: PathParam, Query, Header, Idempotent,
// WithoutValidation.
type CallOption = core.CallOption

// Sensitive is plaintext personal data the client encrypts (RSAES-OAEP) wherever
// it appears in a request body or query; it never prints.
type Sensitive = core.Sensitive

// Personal is plaintext personal data the API carries in clear; it never prints.
type Personal = core.Personal

// Encrypted is a ciphertext WeChat Pay made for the merchant; open it with
// Client.Decrypt.
type Encrypted = core.Encrypted

// Decrypter opens Encrypted values; *Client is one.
type Decrypter = core.Decrypter

// ValidationError lists what client-side validation found wrong in a typed
// request; nothing was sent.
type ValidationError = core.ValidationError

// FieldIssue is one problem a ValidationError lists.
type FieldIssue = core.FieldIssue
