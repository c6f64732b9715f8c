"""scintiseg.prepare"""
