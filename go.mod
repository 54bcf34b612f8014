module attune

go 1.26
