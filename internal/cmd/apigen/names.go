package main

import (
	"go/token"
	"strings"
	"unicode"
)

// initialisms keep their case in Go names (STYLE.md rule 12).
var initialisms = map[string]string{
	"id": "ID", "openid": "OpenID", "appid": "AppID", "mchid": "MchID", "unionid": "UnionID",
	"url": "URL", "uri": "URI", "api": "API", "qrcode": "QRCode", "qr": "QR", "json": "JSON",
	"http": "HTTP", "https": "HTTPS", "ip": "IP", "sms": "SMS", "v3": "V3", "uuid": "UUID", "sp": "SP",
	// URL segments written as one word: the Go name shows their parts.
	"jsapi": "JSAPI", "h5": "H5", "codepay": "CodePay", "tradebill": "TradeBill", "fundflowbill": "FundFlowBill",
	"billdownload": "BillDownload", "gzip": "GZIP",
}

// goName turns a JSON name or a URL segment (snake_case or kebab-case) into an
// exported Go name: card_id → CardID, open-user-card-tokens → OpenUserCardTokens.
func goName(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if in, ok := initialisms[strings.ToLower(w)]; ok {
			b.WriteString(in)
			continue
		}
		rs := []rune(w)
		rs[0] = unicode.ToUpper(rs[0])
		b.WriteString(string(rs))
	}
	return b.String()
}

// lowerName is goName with its first word in lower case, avoiding keywords:
// card_id → cardID, openid → openID, id_card_number → idCardNumber.
func lowerName(s string) string {
	g := goName(s)
	words := strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' })
	first := goName(words[0])
	out := strings.ToLower(first[:1]) + first[1:]
	if in, ok := initialisms[strings.ToLower(words[0])]; ok {
		// OpenID → openID, ID → id, URL → url
		if in == strings.ToUpper(in) {
			out = strings.ToLower(in)
		} else {
			out = strings.ToLower(in[:len(in)-len(trailingUpper(in))]) + trailingUpper(in)
		}
	}
	out += g[len(first):]
	if token.IsKeyword(out) {
		out += "_"
	}
	return out
}

// trailingUpper returns the trailing run of upper-case letters: OpenID → ID.
func trailingUpper(s string) string {
	i := len(s)
	for i > 0 && unicode.IsUpper(rune(s[i-1])) {
		i--
	}
	return s[i:]
}
