package main

import (
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewFamilyIsASpecFile proves that a product family is a spec file plus
// generation: from testdata/widgets.yaml next to the real spec, and nothing
// else, the generator writes a package that builds, vets and works through the
// same seam as the real families (checked by a test that the generated package
// runs against a recording invoker), and hooks it into client.V3 and notify.
func TestNewFamilyIsASpecFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a package with the go command")
	}
	apiDir := t.TempDir()
	for _, src := range append(must(filepath.Glob("../../../api/*.yaml")), "testdata/widgets.yaml") {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(apiDir, filepath.Base(src)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := load(apiDir)
	if err != nil {
		t.Fatal(err)
	}
	root, err := buildTree(s)
	if err != nil {
		t.Fatal(err)
	}
	var fam *family
	for _, f := range s.families {
		if f.Name == "widgets" {
			fam = f
		}
	}
	// The top of the chain and the notification registry pick the family up.
	if top := string(emitTree(s, root, nil)); !strings.Contains(top, "Widgets widgets.Widgets") {
		t.Errorf("apiv3.V3 has no Widgets field:\n%s", top)
	}
	if ev := string(emitEvents(s)); !strings.Contains(ev, `EventWidgetCreated = "WIDGET.CREATED"`) || !strings.Contains(ev, "new(widgets.Widget)") {
		t.Errorf("notify does not know WIDGET.CREATED:\n%s", ev)
	}

	// The package, generated inside the module (it imports internal/typed).
	dir, err := os.MkdirTemp("testdata", "gen-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pkgDir := filepath.Join(dir, "widgets")
	if err := os.Mkdir(pkgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string][]byte{
		"zz_models.go": emitModels(fam),
		"zz_tree.go":   emitTree(s, root, fam),
		"zz_doc.go":    emitFamilyDoc(fam, root),
	} {
		b, err := format.Source(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(pkgDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(pkgDir, "use_test.go"), []byte(useWidgets), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"vet", "./" + filepath.ToSlash(pkgDir)}, {"test", "-count=1", "./" + filepath.ToSlash(pkgDir)}} {
		cmd := exec.Command("go", args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// useWidgets exercises the generated package through a recording invoker: the
// descriptor of each operation, validation, the path, the query encoding, the
// iterator and the Sensitive field type.
const useWidgets = `package widgets

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/wxpaykit/wxpay/core"
	"github.com/wxpaykit/wxpay/internal/typed"
)

type recorder struct {
	ops   []*typed.Operation
	paths []string
	query []url.Values
}

func (r *recorder) Invoke(ctx context.Context, op *typed.Operation, params []string, req any, out any, opts []core.CallOption) (*core.Response, error) {
	r.ops = append(r.ops, op)
	p, err := typed.ExpandValues(op.Segs, params)
	if err != nil {
		return nil, err
	}
	r.paths = append(r.paths, p)
	q, _, err := typed.EncodeQuery(req, func(s string) (string, error) { return "sealed", nil })
	if err != nil {
		return nil, err
	}
	r.query = append(r.query, q)
	if l, ok := out.(*List); ok {
		l.TotalCount = 3
		off := q.Get("offset")
		if off == "0" {
			l.Data = []Widget{{WidgetID: "w0"}, {WidgetID: "w1"}}
		} else {
			l.Data = []Widget{{WidgetID: "w2"}}
		}
	}
	return &core.Response{StatusCode: 200}, nil
}

func TestGeneratedFamily(t *testing.T) {
	rec := &recorder{}
	w := NewWidgets(rec)
	ctx := context.Background()

	req := &CreateWidgetRequest{OutRequestNo: "no-1", Color: ColorRed, OwnerName: core.Sensitive("张三")}
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Post(ctx, req); err != nil {
		t.Fatal(err)
	}
	if op := rec.ops[0]; op.ID != "CreateWidget" || op.Method != "POST" || !op.HasBody || !op.Encrypts || !op.Idempotent {
		t.Errorf("descriptor %+v", op)
	}
	bad := &CreateWidgetRequest{OutRequestNo: "has space", Color: "GREEN"}
	var ve *core.ValidationError
	if err := bad.Validate(); !errors.As(err, &ve) || len(ve.Issues) != 2 {
		t.Errorf("validation: %v", err)
	}
	if _, err := w.WidgetID("a/b").Delete(ctx); err != nil || rec.paths[1] != "/v3/widgets/a%2Fb" {
		t.Errorf("delete: %v %v", err, rec.paths)
	}
	var ids []string
	for item, err := range w.All(ctx, &ListWidgetsRequest{Color: ColorBlue}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, item.WidgetID)
	}
	if len(ids) != 3 || rec.query[2].Get("color") != "BLUE" || rec.query[3].Get("offset") != "2" {
		t.Errorf("iterator: %v %v", ids, rec.query)
	}
	if _, err := w.PostAsync(ctx, nil).Wait(); err == nil {
		t.Error("a nil request was accepted")
	}
}
`
