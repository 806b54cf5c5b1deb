// Package interop checks wxpay against the official
// github.com/wechatpay-apiv3/wechatpay-go SDK, an independent implementation of
// the same protocol. It is its own module so that the official SDK never enters
// the library's go.mod.
package interop
