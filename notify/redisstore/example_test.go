package redisstore_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/notify/redisstore"
)

// Every instance of the service builds its parser on the same Redis; timeouts
// well under WeChat Pay's 5 s answer deadline turn an outage into a timely 503.
func Example() {
	var client *wxpay.Client    // the service's client
	var apiV3Key wxpay.APIv3Key // from wxpay.ParseAPIv3Key
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379",
		DialTimeout: time.Second, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	defer rdb.Close()
	parser, err := notify.New(client.Verifier(), apiV3Key, notify.WithStore(redisstore.New(rdb)))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/wxpay/notify", parser.Handler(func(ctx context.Context, n *notify.Notification) error {
		return nil // runs once per n.ID across the instances
	}))
}
