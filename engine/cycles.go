package engine

// findCycles walks a directed graph depth first, from each node in order,
// and calls found for every edge that closes a cycle, with the chain of
// nodes leading to it. next lists a node's edges; an edge to a node next
// does not know (a dangling name) is skipped.
func findCycles[E any](nodes []string, next func(string) ([]E, bool), target func(E) string,
	found func(chain []string, e E)) {
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var visit func(n string, chain []string)
	visit = func(n string, chain []string) {
		state[n] = onPath
		chain = append(chain, n)
		edges, _ := next(n)
		for _, e := range edges {
			t := target(e)
			if _, known := next(t); !known {
				continue
			}
			switch state[t] {
			case onPath:
				found(chain, e)
			case unseen:
				visit(t, chain)
			}
		}
		state[n] = done
	}
	for _, n := range nodes {
		if state[n] == unseen {
			visit(n, nil)
		}
	}
}
