// Package components is the contract between TUNA and the Go code the
// platform team adds for scripts: a component is a Go value registered by
// name from init(), built once per server by its Factory, and exposed to every
// script runtime under that name, each exported method as a lowerCamel JS
// function. A method may take a *Call first to reach the running step's
// context (deadline, TID, logger, clock); an error it returns becomes a JS
// exception. Package componentstest runs a component through real JS.
package components
