// Package bench compares wxpay with the official wechatpay-go SDK on the same
// endpoint, against the same loopback server, in the same run. It is its own
// module so that wechatpay-go never enters the library's go.mod. Run:
//
//	go test -run '^$' -bench . -benchmem ./bench/...
package bench
