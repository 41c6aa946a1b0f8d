"""torch2netc's library: trace a torch.nn.Module with torch.fx and write
it as a netc model (YAML) and a safetensors weights file."""
