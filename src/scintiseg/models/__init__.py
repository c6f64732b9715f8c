"""scintiseg.models"""
