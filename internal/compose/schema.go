package compose

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/validation"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compiled is compose-go's schema, compiled as its schema.Validate compiles
// it on every call: once.
var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema.Schema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("compose-spec.json", doc); err != nil {
		return nil, err
	}
	c.RegisterFormat(&jsonschema.Format{Name: "duration", Validate: func(v any) error {
		s, ok := v.(string)
		if !ok {
			return errors.New("expected string")
		}
		_, err := time.ParseDuration(s)
		return err
	}})
	return c.Compile("compose-spec.json")
})

// validate checks a merged model as compose-go's loader does: against the
// compose schema, then its own rules.
func validate(model map[string]any) error {
	s, err := compiled()
	if err != nil {
		return fmt.Errorf("compiling the compose schema: %w", err)
	}
	delete(model, "version") // obsolete, and left by a load that does not validate
	if err := s.Validate(model); err != nil {
		return err
	}
	return validation.Validate(model)
}
