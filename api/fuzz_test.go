package api

import (
	"errors"
	"testing"

	"attune"
)

// FuzzChatRequest feeds arbitrary bodies to the chat route's decoding and
// validation: they must never panic, every refusal must be a client error
// (4xx), and an accepted request must hold only settings in range.
func FuzzChatRequest(f *testing.F) {
	for _, seed := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stop":"\n","n":2}`,
		`{"model":"m","messages":[{"role":"tool","content":1}],"temperature":3}`,
		`{"messages":null,"stop":[1,2],"max_tokens":-1,"top_p":0}`,
		`{"model":"m","messages":[],"unknown":true}`,
		`[`, `"x"`, `{"seed":1e99}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req chatRequest
		err := unmarshalStrict(body, &req)
		if err == nil {
			_, err = chatMessages(req.Messages)
		}
		if err == nil {
			var samp, n, serr = req.settings(defaultChatTokens)
			err = serr
			if err == nil && (samp.Temperature < 0 || samp.Temperature > 2 || samp.MaxTokens < 1 || n < 1 || n > maxChoices) {
				t.Fatalf("accepted out-of-range settings %+v n=%d from %q", samp, n, body)
			}
		}
		if err == nil {
			return
		}
		status, _ := errorBody(err, true)
		var v *validationError
		if status < 400 || status >= 500 || (status == 422 && !errors.As(err, &v) && attune.ErrorKind(err) != attune.KindInvalid) {
			t.Fatalf("body %q refused with status %d: %v", body, status, err)
		}
	})
}

// FuzzQuestions feeds arbitrary benchmark files to their parser.
func FuzzQuestions(f *testing.F) {
	f.Add([]byte(`[{"question":"q","answer":"a"}]`))
	f.Add([]byte(`[{"question":"q","answer":"a","question_num":3},{"question":"","answer":"a"}]`))
	f.Add([]byte(`{"question":"q"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		qs, err := parseQuestions(data)
		if err != nil {
			if status, _ := errorBody(err, false); status != 400 && status != 422 {
				t.Fatalf("refused with %d: %v", status, err)
			}
			return
		}
		for _, q := range qs {
			if q.Question == "" || q.Answer == "" || q.QuestionNum == 0 {
				t.Fatalf("accepted an empty item %+v from %q", q, data)
			}
		}
	})
}
