package apicheck

import (
	"fmt"
	"go/types"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/openmoove/omq"

// Every exported identifier of a public package — function and method
// signatures, struct fields, interface methods, aliases, vars and consts —
// must name only types another module can import.
func TestPublicAPIUsesPublicTypes(t *testing.T) {
	pkgs := loadPublic(t)
	var findings []string
	for _, p := range pkgs {
		findings = append(findings, exportedInternal(p.Types)...)
	}
	slices.Sort(findings)
	for _, f := range findings {
		t.Error(f)
	}
}

// The check itself must find a leak, or a passing test proves nothing.
func TestCheckFindsInternalTypes(t *testing.T) {
	t.Parallel()
	internal := types.NewPackage(module+"/internal/secret", "secret")
	hidden := types.NewNamed(types.NewTypeName(0, internal, "Hidden", nil), types.Typ[types.Int], nil)
	pub := types.NewPackage(module+"/pub", "pub")
	field := types.NewField(0, pub, "Field", types.NewSlice(hidden), false)
	st := types.NewStruct([]*types.Var{field}, nil)
	options := types.NewNamed(types.NewTypeName(0, pub, "Options", nil), st, nil)
	pub.Scope().Insert(options.Obj())
	param := types.NewParam(0, pub, "h", types.NewMap(types.Typ[types.String], hidden))
	sig := types.NewSignatureType(nil, nil, nil, types.NewTuple(param), nil, false)
	pub.Scope().Insert(types.NewFunc(0, pub, "New", sig))
	pub.Scope().Insert(types.NewFunc(0, pub, "unexported", sig))

	got := exportedInternal(pub)
	want := []string{
		"pub.New: " + module + "/internal/secret.Hidden",
		"pub.Options.Field: " + module + "/internal/secret.Hidden",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("findings = %q, want %q", got, want)
	}
}

func loadPublic(t *testing.T) []*packages.Package {
	t.Helper()
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes, Dir: "../.."}
	all, err := packages.Load(cfg, module+"/...")
	if err != nil {
		t.Fatalf("load %s/...: %v (run go list ./... at the module root to see why)", module, err)
	}
	var public []*packages.Package
	for _, p := range all {
		for _, e := range p.Errors {
			t.Errorf("%s: %v", p.PkgPath, e)
		}
		if !isInternal(p.PkgPath) && p.Name != "main" && p.Types != nil {
			public = append(public, p)
		}
	}
	if len(public) < 10 {
		t.Fatalf("found %d public packages, want the ten or more of omq's API; is the pattern %s/... right?", len(public), module)
	}
	return public
}

func isInternal(path string) bool {
	return strings.HasSuffix(path, "/internal") || strings.Contains(path, "/internal/")
}

// exportedInternal names each exported identifier of pkg whose type
// mentions an internal type, as "pkg.Ident[.Member]: internal/type".
func exportedInternal(pkg *types.Package) []string {
	var out []string
	report := func(where string, t types.Type) {
		for _, leak := range internalTypes(t) {
			out = append(out, where+": "+leak)
		}
	}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		where := pkg.Name() + "." + name
		tn, ok := obj.(*types.TypeName)
		if !ok {
			report(where, obj.Type())
			continue
		}
		if tn.IsAlias() {
			report(where, types.Unalias(obj.Type()))
			continue
		}
		if st, ok := obj.Type().Underlying().(*types.Struct); ok {
			for i := range st.NumFields() {
				if f := st.Field(i); f.Exported() || f.Embedded() {
					report(where+"."+f.Name(), f.Type())
				}
			}
		} else {
			report(where, obj.Type().Underlying())
		}
		for _, m := range methods(obj.Type()) {
			report(where+"."+m.Name(), m.Type())
		}
	}
	return out
}

// methods are the exported methods of T and *T, promoted ones included.
func methods(t types.Type) []*types.Func {
	var out []*types.Func
	seen := map[string]bool{}
	for _, typ := range []types.Type{t, types.NewPointer(t)} {
		if _, isIface := t.Underlying().(*types.Interface); isIface && typ != t {
			continue
		}
		ms := types.NewMethodSet(typ)
		for i := range ms.Len() {
			f := ms.At(i).Obj().(*types.Func)
			if f.Exported() && !seen[f.Name()] {
				seen[f.Name()] = true
				out = append(out, f)
			}
		}
	}
	return out
}

// internalTypes walks what a user of t can see. A named type of another
// public package is not entered: its own package's check covers it.
func internalTypes(t types.Type) []string {
	var out []string
	seen := map[types.Type]bool{}
	var walk func(types.Type)
	walk = func(t types.Type) {
		if t == nil || seen[t] {
			return
		}
		seen[t] = true
		switch t := t.(type) {
		case *types.Alias:
			walk(types.Unalias(t))
		case *types.Named:
			obj := t.Obj()
			if obj.Pkg() != nil && isInternal(obj.Pkg().Path()) {
				out = append(out, fmt.Sprintf("%s.%s", obj.Pkg().Path(), obj.Name()))
				return
			}
			for i := range t.TypeArgs().Len() {
				walk(t.TypeArgs().At(i))
			}
		case *types.Pointer:
			walk(t.Elem())
		case *types.Slice:
			walk(t.Elem())
		case *types.Array:
			walk(t.Elem())
		case *types.Map:
			walk(t.Key())
			walk(t.Elem())
		case *types.Chan:
			walk(t.Elem())
		case *types.Signature:
			walkTuple(t.Params(), walk)
			walkTuple(t.Results(), walk)
		case *types.Struct:
			for i := range t.NumFields() {
				if f := t.Field(i); f.Exported() || f.Embedded() {
					walk(f.Type())
				}
			}
		case *types.Interface:
			for i := range t.NumMethods() {
				if m := t.Method(i); m.Exported() {
					walk(m.Type())
				}
			}
			for i := range t.NumEmbeddeds() {
				walk(t.EmbeddedType(i))
			}
		case *types.TypeParam:
			walk(t.Constraint())
		case *types.Union:
			for i := range t.Len() {
				walk(t.Term(i).Type())
			}
		}
	}
	walk(t)
	return out
}

func walkTuple(tup *types.Tuple, walk func(types.Type)) {
	for i := range tup.Len() {
		walk(tup.At(i).Type())
	}
}
