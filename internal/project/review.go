package project

import (
	"context"
	"time"

	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/review"
)

// reviewUpgrade reviews the tags of chosen whose resolved digest differs
// from the lock's, in lock order, and applies the policy to each.
func (p *Project) reviewUpgrade(ctx context.Context, chosen map[tagKey]*want, resolved map[tagKey]resolve.Result) ([]review.Review, error) {
	var moves []review.Move
	for _, k := range sortedTags(chosen) {
		r, ok := resolved[k]
		if old, locked := p.lock.Lookup(k.Repo, k.Tag); ok && locked && r.Digest != old {
			moves = append(moves, p.move(k, old, r.Digest))
		}
	}
	return p.review(ctx, moves)
}

// reviewMoved reviews the statuses whose tag moved upstream.
func (p *Project) reviewMoved(ctx context.Context, statuses []RemoteStatus) error {
	var moves []review.Move
	var at []int
	for i, s := range statuses {
		if s.Moved() {
			moves = append(moves, p.move(tagKey{s.Repo, s.Tag}, s.Locked, s.Current))
			at = append(at, i)
		}
	}
	reviews, err := p.review(ctx, moves)
	if err != nil {
		return err
	}
	for i, r := range reviews {
		statuses[at[i]].Review = &r
	}
	return nil
}

// move is tag k moving from the locked digest old to new, with the
// platform lines the lock has for it.
func (p *Project) move(k tagKey, old, new string) review.Move {
	m := review.Move{Repo: k.Repo, Tag: k.Tag, Old: old, New: new, Locked: map[string]string{}}
	for _, e := range p.lock.Platforms(k.Repo, k.Tag) {
		m.Locked[e.Platform] = e.Digest
	}
	return m
}

// review reviews moves through the run's resolver and applies the policy.
// A resolver that cannot read content gives reviews with the digests
// alone: ages unknown, so a cooldown holds them back.
func (p *Project) review(ctx context.Context, moves []review.Move) ([]review.Review, error) {
	if len(moves) == 0 {
		return nil, nil
	}
	res, err := p.resolver()
	if err != nil {
		return nil, err
	}
	var reviews []review.Review
	if rd, ok := res.(resolve.ContentReader); ok {
		if reviews, err = review.Run(ctx, rd, moves); err != nil {
			return nil, err
		}
	} else {
		for _, m := range moves {
			reviews = append(reviews, review.Review{Repo: m.Repo, Tag: m.Tag, Old: review.Image{Digest: m.Old}, New: review.Image{Digest: m.New}})
		}
	}
	now := time.Now()
	for i := range reviews {
		p.Policy.Apply(&reviews[i], now)
	}
	return reviews, nil
}
