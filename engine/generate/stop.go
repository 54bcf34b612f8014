package generate

import "strings"

// stopper holds back the end of an answer's text while it could still
// become a stop string, so that no part of a stop string is ever streamed.
type stopper struct {
	stops   []string
	text    []byte
	emitted int // text[:emitted] has been released
}

// push appends piece to the text and returns what can be released now. It
// reports true when a stop string has appeared: the text is cut before it
// and nothing after it is ever released.
func (s *stopper) push(piece string) (string, bool) {
	s.text = append(s.text, piece...)

	// A stop string can only start in the held-back part: everything
	// before it was released because no stop string could start there.
	cut := -1
	for _, stop := range s.stops {
		if i := strings.Index(string(s.text[s.emitted:]), stop); i >= 0 && (cut < 0 || s.emitted+i < cut) {
			cut = s.emitted + i
		}
	}
	if cut >= 0 {
		s.text = s.text[:cut]
		return s.release(cut), true
	}
	return s.release(len(s.text) - s.held()), false
}

// held returns the length of the longest end of the unreleased text that
// is the beginning of some stop string.
func (s *stopper) held() int {
	rest := s.text[s.emitted:]
	best := 0
	for _, stop := range s.stops {
		for n := min(len(stop)-1, len(rest)); n > best; n-- {
			if string(rest[len(rest)-n:]) == stop[:n] {
				best = n
				break
			}
		}
	}
	return best
}

func (s *stopper) release(upTo int) string {
	out := string(s.text[s.emitted:upTo])
	s.emitted = upTo
	return out
}

// flush releases whatever is held back, at the end of the answer.
func (s *stopper) flush() string { return s.release(len(s.text)) }

// String returns the text so far, cut before a stop string if one appeared.
func (s *stopper) String() string { return string(s.text) }
