package typed

import (
	"fmt"
	"io"
	"reflect"

	"github.com/wxpaykit/wxpay/core"
)

// UploadOf reads the parts of a generated upload request: the fields tagged
// upload:"filename" and upload:"file".
func UploadOf(req any) (filename string, file io.Reader, err error) {
	rv := reflect.ValueOf(req)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return "", nil, fmt.Errorf("%w: an upload needs its request", core.ErrInvalidRequest)
	}
	rv = rv.Elem()
	t := rv.Type()
	for i := 0; i < t.NumField(); i++ {
		switch t.Field(i).Tag.Get("upload") {
		case "filename":
			filename = rv.Field(i).String()
		case "file":
			if r, ok := rv.Field(i).Interface().(io.Reader); ok {
				file = r
			}
		}
	}
	return filename, file, nil
}
