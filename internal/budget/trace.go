package budget

import (
	"context"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/tracing"
)

// tracedTake is Take inside its own span, a child of the API call's: a
// trace shows how long a call waited for the shared budget, and in which
// lane.
func (b *Budget) tracedTake(ctx context.Context, mutation bool) error {
	ctx, span := tracing.FromContext(ctx).Start(ctx, "budget take",
		trace.WithAttributes(tracing.KeyLane.String(string(LaneOf(ctx)))))
	defer span.End()
	err := b.Take(ctx, mutation)
	if err != nil && span.IsRecording() {
		span.SetStatus(codes.Error, failure.KindOf(err).String())
	}
	return err
}
