package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// TestContentProblemsTranslated: every message format the content package
// builds (Problemf, Warningf, Textf, wrapText and its reader's addf/addAt,
// and Problem literals, whose Message must then be a known constant) has a
// French translation, so `crieur check` never mixes English into French
// output when a new problem is added.
func TestContentProblemsTranslated(t *testing.T) {
	known := map[string]bool{}
	for _, set := range frenchEntries() {
		for _, e := range set {
			known[e.Key] = true
		}
	}
	formatArg := map[string]int{"Problemf": 2, "Warningf": 2, "Textf": 0, "addf": 1, "addAt": 1, "wrapText": 1}
	files, err := filepath.Glob(filepath.Join("..", "..", "content", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("content sources: %v %v", files, err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, file := range files {
		if filepath.Ext(file) != ".go" || len(file) > 8 && file[len(file)-8:] == "_test.go" {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.CompositeLit); ok {
				checkProblemLiteral(t, fset, lit, known)
				return true
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			switch fun := call.Fun.(type) {
			case *ast.Ident:
				name = fun.Name
			case *ast.SelectorExpr:
				name = fun.Sel.Name
			}
			i, ok := formatArg[name]
			if !ok || i >= len(call.Args) {
				return true
			}
			lit, ok := call.Args[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			format, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
			}
			found++
			if format != "" && format != "%q" && !known[format] {
				t.Errorf("%s: no French for %q", fset.Position(lit.Pos()), format)
			}
			return true
		})
	}
	if found < 50 {
		t.Errorf("found only %d message formats in content/: is the scan still right?", found)
	}
}

// checkProblemLiteral: a Problem built as a literal is translated by its
// Message, so that Message must be a constant the catalog knows; a
// formatted one (fmt.Sprintf) is never found and shows in English.
func checkProblemLiteral(t *testing.T, fset *token.FileSet, lit *ast.CompositeLit, known map[string]bool) {
	t.Helper()
	if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "Problem" {
		return
	}
	var message ast.Expr
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		switch key, _ := kv.Key.(*ast.Ident); {
		case key == nil:
		case key.Name == "Format":
			return // translated by its Format (Problemf and the like)
		case key.Name == "Message":
			message = kv.Value
		}
	}
	if message != nil {
		switch v := message.(type) {
		case *ast.BasicLit:
			if msg, err := strconv.Unquote(v.Value); err == nil && !known[msg] {
				t.Errorf("%s: no French for %q", fset.Position(v.Pos()), msg)
			}
		case *ast.CallExpr:
			if sel, ok := v.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sprintf" {
				t.Errorf("%s: Problem{Message: fmt.Sprintf(...)} is never translated; build it with Problemf or Warningf", fset.Position(v.Pos()))
			}
		}
	}
}
