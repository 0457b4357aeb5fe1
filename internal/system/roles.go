package system

// roles lists every role omq run can start, in start order. Packages add
// theirs here.
var roles = []Role{}

// Roles returns the names and descriptions of every role.
func Roles() []Role { return append([]Role(nil), roles...) }
