package brain

import (
	"fmt"
	"strconv"
	"strings"
)

// expr is a compiled `relevant` condition: comparisons joined by "and"/"or"
// ("and" binds tighter), e.g. ${age} >= 18 and ${gender} = 'female'.
type expr struct {
	any [][]comparison // true when any group has all comparisons true
}

type comparison struct {
	left, right operand
	op          string
}

type operand struct {
	name  string // variable name when isVar
	value string // literal otherwise
	isVar bool
}

// eval evaluates the condition against session variables; missing ones read as "".
func (e *expr) eval(vars map[string]string) bool {
	if e == nil {
		return true
	}
	for _, group := range e.any {
		all := true
		for _, c := range group {
			if !c.eval(vars) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (o operand) resolve(vars map[string]string) string {
	if o.isVar {
		return vars[o.name]
	}
	return o.value
}

// eval compares numerically when both sides are numbers, as strings otherwise.
func (c comparison) eval(vars map[string]string) bool {
	l, r := c.left.resolve(vars), c.right.resolve(vars)
	var cmp int
	lf, errL := strconv.ParseFloat(strings.TrimSpace(l), 64)
	rf, errR := strconv.ParseFloat(strings.TrimSpace(r), 64)
	switch {
	case errL == nil && errR == nil:
		switch {
		case lf < rf:
			cmp = -1
		case lf > rf:
			cmp = 1
		}
	case c.op == "=" || c.op == "!=":
		cmp = strings.Compare(l, r)
	default:
		return false // ordering needs two numbers
	}
	switch c.op {
	case "=":
		return cmp == 0
	case "!=":
		return cmp != 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	default: // ">="
		return cmp >= 0
	}
}

// parseExpr compiles a condition, or explains which part is not supported.
func parseExpr(src string) (*expr, error) {
	toks, err := lexExpr(src)
	if err != nil {
		return nil, err
	}
	e := &expr{}
	var group []comparison
	for i := 0; ; {
		if i+3 > len(toks) {
			return nil, fmt.Errorf("unsupported expression %q (supported: ${var} OP value joined by and/or, OP one of = != < <= > >=)", src)
		}
		l, op, r := toks[i], toks[i+1], toks[i+2]
		if l.kind == tokOp || r.kind == tokOp || op.kind != tokOp || l.kind == tokWord || r.kind == tokWord {
			return nil, fmt.Errorf("unsupported expression %q (supported: ${var} OP value joined by and/or, OP one of = != < <= > >=)", src)
		}
		group = append(group, comparison{left: l.operand, op: op.text, right: r.operand})
		i += 3
		if i == len(toks) {
			e.any = append(e.any, group)
			return e, nil
		}
		switch conj := toks[i]; {
		case conj.kind == tokWord && conj.text == "and":
		case conj.kind == tokWord && conj.text == "or":
			e.any = append(e.any, group)
			group = nil
		default:
			return nil, fmt.Errorf("unsupported expression %q: expected and/or at %q", src, conj.text)
		}
		i++
	}
}

type tokKind int

const (
	tokOperand tokKind = iota
	tokOp
	tokWord
)

type token struct {
	kind    tokKind
	text    string
	operand operand
}

func lexExpr(src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		ch := src[i]
		switch {
		case ch == ' ' || ch == '\t':
			i++
		case strings.HasPrefix(src[i:], "${"):
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ${ in %q", src)
			}
			name := src[i+2 : i+end]
			toks = append(toks, token{kind: tokOperand, text: src[i : i+end+1], operand: operand{name: name, isVar: true}})
			i += end + 1
		case ch == '\'' || ch == '"':
			end := strings.IndexByte(src[i+1:], ch)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string in %q", src)
			}
			toks = append(toks, token{kind: tokOperand, text: src[i : i+end+2], operand: operand{value: src[i+1 : i+1+end]}})
			i += end + 2
		case strings.ContainsRune("=!<>", rune(ch)):
			op := string(ch)
			if i+1 < len(src) && src[i+1] == '=' {
				op += "="
			}
			if op == "!" {
				return nil, fmt.Errorf("unsupported operator ! in %q", src)
			}
			toks = append(toks, token{kind: tokOp, text: op})
			i += len(op)
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t=!<>'\"$", rune(src[j])) {
				j++
			}
			if j == i { // a lone '$' not followed by '{'
				j++
			}
			word := src[i:j]
			if _, err := strconv.ParseFloat(word, 64); err == nil {
				toks = append(toks, token{kind: tokOperand, text: word, operand: operand{value: word}})
			} else {
				toks = append(toks, token{kind: tokWord, text: strings.ToLower(word)})
			}
			i = j
		}
	}
	return toks, nil
}
