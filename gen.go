package wxpay

//go:generate go run ./internal/cmd/apigen -api api -root .
