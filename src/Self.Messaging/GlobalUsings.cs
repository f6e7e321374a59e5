// The client core speaks the protocol in every file; its exceptions and event args live there too.
global using Self.Protocol;
