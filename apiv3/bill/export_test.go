package bill

// DownloadWithin and WriteFileWithin are Download and WriteFile with a smaller
// bound than MaxFileBytes, for tests of the bound.
var (
	DownloadWithin  = download
	WriteFileWithin = writeFile
)
