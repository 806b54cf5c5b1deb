// Package core holds the values that the client (package wxpay) and the
// generated API packages (apiv3/…) exchange: Response, Future, CallOption,
// the personal-data types Sensitive, Personal and Encrypted, and
// ValidationError.
//
// It exists so that the generated packages need not import the client, and
// the client can still offer the whole typed API as client.V3. Package wxpay
// re-exports every type here under the same name (wxpay.Response is
// core.Response); write wxpay.X in your code, and read core.X in the
// signatures of the generated packages as the same thing.
package core
