package signature

// A deliberately small RFC 8941 (Structured Field Values) parser and
// serializer: dictionaries whose members are items or inner lists, with
// parameters. It covers what RFC 9421 and RFC 9530 headers use, rejects what
// it does not understand, and never backtracks, so its cost is linear in the
// input (which callers cap anyway).

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// sfKind tells which RFC 8941 bare item a value holds.
type sfKind int

const (
	sfInteger sfKind = iota + 1
	sfDecimal
	sfString
	sfToken
	sfBytes
	sfBoolean
)

// sfBare is one bare item. Decimals keep their source text: nothing here does
// arithmetic on them, they only need to survive a round trip.
type sfBare struct {
	kind sfKind
	i    int64
	s    string // string, token or decimal text
	b    []byte
	bo   bool
}

type sfParam struct {
	key string
	val sfBare
}

type sfItem struct {
	bare   sfBare
	params []sfParam
}

// sfMember is one dictionary member: either an item or an inner list, both
// with their own parameters.
type sfMember struct {
	key    string
	inner  bool
	item   sfItem   // when !inner
	items  []sfItem // when inner
	params []sfParam
}

var errSF = errors.New("invalid structured field")

type sfParser struct {
	s   string
	pos int
}

func (p *sfParser) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errSF, what, p.pos)
}

func (p *sfParser) eof() bool { return p.pos >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

func (p *sfParser) skipSP() {
	for !p.eof() && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *sfParser) skipOWS() {
	for !p.eof() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// parseSFDictionary parses a whole field value as a dictionary. Duplicate
// keys are refused: RFC 8941 lets the last one win, but for signatures an
// ambiguous header is more likely an attack than a feature.
func parseSFDictionary(s string) ([]sfMember, error) {
	p := &sfParser{s: s}
	p.skipSP()
	var out []sfMember
	seen := map[string]bool{}
	for !p.eof() {
		key, err := p.parseKey()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, p.fail("duplicate key " + strconv.Quote(key))
		}
		seen[key] = true
		m := sfMember{key: key}
		if p.peek() == '=' {
			p.pos++
			if p.peek() == '(' {
				m.inner = true
				if m.items, err = p.parseInnerList(); err != nil {
					return nil, err
				}
				if m.params, err = p.parseParams(); err != nil {
					return nil, err
				}
			} else {
				if m.item, err = p.parseItem(); err != nil {
					return nil, err
				}
			}
		} else {
			// A key without a value is the boolean true.
			m.item.bare = sfBare{kind: sfBoolean, bo: true}
			if m.item.params, err = p.parseParams(); err != nil {
				return nil, err
			}
		}
		out = append(out, m)
		p.skipOWS()
		if p.eof() {
			return out, nil
		}
		if p.peek() != ',' {
			return nil, p.fail("expected ','")
		}
		p.pos++
		p.skipOWS()
		if p.eof() {
			return nil, p.fail("trailing ','")
		}
	}
	return out, nil
}

func (p *sfParser) parseInnerList() ([]sfItem, error) {
	if p.peek() != '(' {
		return nil, p.fail("expected '('")
	}
	p.pos++
	var items []sfItem
	for !p.eof() {
		p.skipSP()
		if p.peek() == ')' {
			p.pos++
			return items, nil
		}
		it, err := p.parseItem()
		if err != nil {
			return nil, err
		}
		items = append(items, it)
		if c := p.peek(); c != ' ' && c != ')' {
			return nil, p.fail("expected ' ' or ')' in inner list")
		}
	}
	return nil, p.fail("unterminated inner list")
}

func (p *sfParser) parseItem() (sfItem, error) {
	b, err := p.parseBare()
	if err != nil {
		return sfItem{}, err
	}
	params, err := p.parseParams()
	if err != nil {
		return sfItem{}, err
	}
	return sfItem{bare: b, params: params}, nil
}

func (p *sfParser) parseParams() ([]sfParam, error) {
	var params []sfParam
	for p.peek() == ';' {
		p.pos++
		p.skipSP()
		key, err := p.parseKey()
		if err != nil {
			return nil, err
		}
		for _, q := range params {
			if q.key == key {
				return nil, p.fail("duplicate parameter " + strconv.Quote(key))
			}
		}
		v := sfBare{kind: sfBoolean, bo: true}
		if p.peek() == '=' {
			p.pos++
			if v, err = p.parseBare(); err != nil {
				return nil, err
			}
		}
		params = append(params, sfParam{key: key, val: v})
	}
	return params, nil
}

func isLCAlpha(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool   { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || (c >= 'A' && c <= 'Z') }

func (p *sfParser) parseKey() (string, error) {
	start := p.pos
	if c := p.peek(); !isLCAlpha(c) && c != '*' {
		return "", p.fail("expected key")
	}
	p.pos++
	for !p.eof() {
		c := p.s[p.pos]
		if !isLCAlpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' && c != '*' {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos], nil
}

func (p *sfParser) parseBare() (sfBare, error) {
	c := p.peek()
	switch {
	case c == '-' || isDigit(c):
		return p.parseNumber()
	case c == '"':
		return p.parseString()
	case c == ':':
		return p.parseBytes()
	case c == '?':
		if p.pos+1 < len(p.s) && (p.s[p.pos+1] == '0' || p.s[p.pos+1] == '1') {
			v := p.s[p.pos+1] == '1'
			p.pos += 2
			return sfBare{kind: sfBoolean, bo: v}, nil
		}
		return sfBare{}, p.fail("invalid boolean")
	case isAlpha(c) || c == '*':
		return p.parseToken()
	}
	return sfBare{}, p.fail("unexpected character")
}

func (p *sfParser) parseNumber() (sfBare, error) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	digits, frac, dot := 0, 0, false
	for !p.eof() {
		c := p.s[p.pos]
		if c == '.' && !dot && digits > 0 {
			dot = true
			p.pos++
			continue
		}
		if !isDigit(c) {
			break
		}
		if dot {
			frac++
		} else {
			digits++
		}
		p.pos++
	}
	text := p.s[start:p.pos]
	if digits == 0 {
		return sfBare{}, p.fail("invalid number")
	}
	if dot {
		if digits > 12 || frac == 0 || frac > 3 {
			return sfBare{}, p.fail("invalid decimal")
		}
		return sfBare{kind: sfDecimal, s: text}, nil
	}
	if digits > 15 {
		return sfBare{}, p.fail("integer too long")
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return sfBare{}, p.fail("invalid integer")
	}
	return sfBare{kind: sfInteger, i: n}, nil
}

func (p *sfParser) parseString() (sfBare, error) {
	p.pos++ // opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.pos]
		p.pos++
		switch {
		case c == '\\':
			if p.eof() {
				return sfBare{}, p.fail("unterminated escape")
			}
			n := p.s[p.pos]
			if n != '"' && n != '\\' {
				return sfBare{}, p.fail("invalid escape")
			}
			b.WriteByte(n)
			p.pos++
		case c == '"':
			return sfBare{kind: sfString, s: b.String()}, nil
		case c < 0x20 || c > 0x7e:
			return sfBare{}, p.fail("invalid character in string")
		default:
			b.WriteByte(c)
		}
	}
	return sfBare{}, p.fail("unterminated string")
}

func isTChar(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (p *sfParser) parseToken() (sfBare, error) {
	start := p.pos
	p.pos++
	for !p.eof() {
		c := p.s[p.pos]
		if !isTChar(c) && c != ':' && c != '/' {
			break
		}
		p.pos++
	}
	return sfBare{kind: sfToken, s: p.s[start:p.pos]}, nil
}

func (p *sfParser) parseBytes() (sfBare, error) {
	p.pos++ // opening colon
	end := strings.IndexByte(p.s[p.pos:], ':')
	if end < 0 {
		return sfBare{}, p.fail("unterminated byte sequence")
	}
	enc := p.s[p.pos : p.pos+end]
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=' {
			return sfBare{}, p.fail("invalid byte sequence")
		}
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		// RFC 8941 tells parsers to tolerate missing padding.
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(enc, "="))
		if err != nil {
			return sfBare{}, p.fail("invalid base64 in byte sequence")
		}
	}
	p.pos += end + 1
	return sfBare{kind: sfBytes, b: b}, nil
}

// serialize writes a bare item in the canonical RFC 8941 form, which is what
// the "@signature-params" line of an RFC 9421 signature base must contain.
func (b sfBare) serialize(w *strings.Builder) {
	switch b.kind {
	case sfInteger:
		w.WriteString(strconv.FormatInt(b.i, 10))
	case sfDecimal, sfToken:
		w.WriteString(b.s)
	case sfString:
		w.WriteByte('"')
		for i := 0; i < len(b.s); i++ {
			if c := b.s[i]; c == '"' || c == '\\' {
				w.WriteByte('\\')
			}
			w.WriteByte(b.s[i])
		}
		w.WriteByte('"')
	case sfBytes:
		w.WriteByte(':')
		w.WriteString(base64.StdEncoding.EncodeToString(b.b))
		w.WriteByte(':')
	case sfBoolean:
		if b.bo {
			w.WriteString("?1")
		} else {
			w.WriteString("?0")
		}
	}
}

func serializeParams(w *strings.Builder, params []sfParam) {
	for _, p := range params {
		w.WriteByte(';')
		w.WriteString(p.key)
		if p.val.kind == sfBoolean && p.val.bo {
			continue
		}
		w.WriteByte('=')
		p.val.serialize(w)
	}
}

func serializeInnerList(w *strings.Builder, items []sfItem, params []sfParam) {
	w.WriteByte('(')
	for i, it := range items {
		if i > 0 {
			w.WriteByte(' ')
		}
		it.bare.serialize(w)
		serializeParams(w, it.params)
	}
	w.WriteByte(')')
	serializeParams(w, params)
}
