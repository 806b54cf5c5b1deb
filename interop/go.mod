module github.com/wxpaykit/wxpay/interop

go 1.24

replace github.com/wxpaykit/wxpay => ../

require (
	github.com/wechatpay-apiv3/wechatpay-go v0.2.21
	github.com/wxpaykit/wxpay v0.0.0-00010101000000-000000000000
)
